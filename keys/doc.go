// Package keys holds the signing keys of psmongo and the tokens made with them.
//
// A [Key] is a private signing key with its key ID ("kid") and JWS algorithm.
// Keys are generated ([Generate]), read from the values of the
// POWERSYNC_PRIVATE_KEY and POWERSYNC_PUBLIC_KEY settings ([Parse]), or kept
// on disk for development ([LoadOrCreate]). Those values are JSON Web Keys
// encoded in base64, the format PowerSync's own key scripts print, or PEM.
//
// A [Set] holds the current key and the public keys of retired ones: it
// renders the JWKS that the PowerSync Service fetches and verifies the tokens
// this backend issued. A [Signer] issues those tokens. An [Upstream] verifies
// the tokens of an external identity provider against its JWKS.
//
// Token verification errors wrap one of the sentinel errors ErrMissingToken,
// ErrMalformed, ErrExpired, ErrNotYetValid, ErrAudience, ErrIssuer,
// ErrUnknownKID, ErrSignature, ErrAlgorithm or ErrNoSubject, so that callers
// can answer with a precise message. No error text of this package contains a
// token or private key material.
package keys
