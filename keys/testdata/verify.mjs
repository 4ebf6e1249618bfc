// verify.mjs checks a JWT the way the PowerSync Service does, with nothing
// but Node's built-in crypto, so that the tokens psmongo signs are verified
// by an implementation independent of the Go library that made them.
//
// Usage: node verify.mjs <jwks_url> <token> <audience>
//
// It fetches the JWKS, finds the key named by the header kid, checks the
// signature and the claims sub, iat, exp and aud, and a lifetime of at most
// 24 hours. It prints "ok sub=<subject>" and exits 0, or prints why not and
// exits 1. It never prints the token.
import { constants, createPublicKey, verify } from 'node:crypto';

const MAX_LIFETIME_SECONDS = 86400;
const CLOCK_SKEW_SECONDS = 60;
const HASHES = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

function fail(message) {
  console.error(`verify: ${message}`);
  process.exit(1);
}

function decodeJSON(segment, what) {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) fail(`${what} is not base64url`);
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return fail(`${what} is not JSON`);
  }
}

function checkSignature(alg, key, data, signature) {
  if (alg === 'EdDSA') return verify(null, data, key, signature);

  const hash = HASHES[alg.slice(2)];
  if (!hash) fail(`alg ${alg} is not supported`);
  switch (alg.slice(0, 2)) {
    case 'RS':
      return verify(hash, data, key, signature);
    case 'PS':
      return verify(hash, data, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      }, signature);
    case 'ES':
      return verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  }
  return fail(`alg ${alg} is not supported`);
}

async function fetchKey(jwksURL, kid) {
  const res = await fetch(jwksURL);
  if (!res.ok) fail(`JWKS fetch answered HTTP ${res.status}`);

  const jwks = await res.json();
  if (!Array.isArray(jwks.keys)) fail('JWKS has no keys array');
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) fail(`kid ${JSON.stringify(kid)} is not in the JWKS`);
  return jwk;
}

function checkClaims(claims, audience) {
  if (typeof claims.sub !== 'string' || claims.sub === '') fail('sub is missing');
  for (const name of ['iat', 'exp']) {
    if (typeof claims[name] !== 'number') fail(`${name} is missing or not a number`);
  }
  if (claims.aud === undefined) fail('aud is missing');

  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(audience)) fail(`aud ${JSON.stringify(claims.aud)} is not ${audience}`);
  if (claims.exp - claims.iat > MAX_LIFETIME_SECONDS) fail('lifetime exceeds 24 hours');

  const now = Date.now() / 1000;
  if (claims.exp < now - CLOCK_SKEW_SECONDS) fail('token has expired');
  if (claims.iat > now + CLOCK_SKEW_SECONDS) fail('iat is in the future');
}

async function main() {
  const [jwksURL, token, audience] = process.argv.slice(2);
  if (!jwksURL || !token || !audience) fail('usage: node verify.mjs <jwks_url> <token> <audience>');

  const parts = token.split('.');
  if (parts.length !== 3) fail('token does not have three parts');
  const header = decodeJSON(parts[0], 'header');
  const claims = decodeJSON(parts[1], 'payload');

  const alg = header.alg;
  if (typeof alg !== 'string' || alg === 'none' || alg.startsWith('HS')) fail(`alg ${alg} is refused`);
  if (typeof header.kid !== 'string') fail('header has no kid');

  const jwk = await fetchKey(jwksURL, header.kid);
  if (jwk.alg !== undefined && jwk.alg !== alg) fail(`alg ${alg} differs from the key's ${jwk.alg}`);
  if (jwk.use !== undefined && jwk.use !== 'sig') fail(`key use is ${jwk.use}`);

  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii');
  const signature = Buffer.from(parts[2], 'base64url');
  if (!checkSignature(alg, key, data, signature)) fail('signature is invalid');

  checkClaims(claims, audience);
  console.log(`ok sub=${claims.sub}`);
}

main().catch((err) => fail(err.message));
