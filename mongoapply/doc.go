// Package mongoapply applies PowerSync client writes to MongoDB.
//
// A client's upload is a batch of ops (PUT, PATCH, DELETE on a table and a
// row id). ParseBatch reads the batch in every shape real clients send. An
// Applier then splits it into units, one per client transaction, and for
// each unit:
//
//  1. validates every op: the collection name, the id, field names, type
//     restoration, ownership and the collection's hook, and encodes its
//     write, straight from the JSON it came in where it can (planDirect);
//  2. writes the unit, in a MongoDB transaction where the deployment has
//     them, else as ordered update and delete commands, one for each
//     stretch of ops of one kind on one collection;
//  3. stores a unit that was refused, by validation or by MongoDB, as one
//     document in the dead-letter collection, so nothing a client sent is
//     lost.
//
// Errors that the caller must act on are ErrInvalidRequest (the request
// itself is malformed; nothing was written) and ErrUnavailable (MongoDB could
// not be reached or answered with a transient error; the client should
// retry). A refused op is not an error: it is reported in the Result.
package mongoapply
