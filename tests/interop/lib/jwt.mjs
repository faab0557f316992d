// Minimal JWS helpers on WebCrypto, so the suite checks access-token signatures itself
// instead of trusting the server's introspection.

const b64url = (s) => Buffer.from(s, 'base64url');

/** Splits a compact JWS into its decoded header and payload (no verification). */
export function decodeJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error(`not a compact JWS (${parts.length} parts)`);
  return {
    header: JSON.parse(b64url(parts[0]).toString('utf8')),
    payload: JSON.parse(b64url(parts[1]).toString('utf8')),
    signingInput: new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    signature: b64url(parts[2]),
  };
}

const ALGORITHMS = {
  ES256: {
    importParams: { name: 'ECDSA', namedCurve: 'P-256' },
    verifyParams: { name: 'ECDSA', hash: 'SHA-256' },
  },
  RS256: {
    importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    verifyParams: { name: 'RSASSA-PKCS1-v1_5' },
  },
  EdDSA: {
    importParams: { name: 'Ed25519' },
    verifyParams: { name: 'Ed25519' },
  },
};

/**
 * Verifies a JWS against a JWK Set: the key is chosen by `kid`, and the header's `alg`
 * must match the key's. Returns the decoded token; throws on any mismatch.
 */
export async function verifyJwt(token, jwks) {
  const decoded = decodeJwt(token);
  const { alg, kid } = decoded.header;
  const algorithm = ALGORITHMS[alg];
  if (!algorithm) throw new Error(`unexpected alg ${alg}`);
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error(`kid ${kid} not in the JWK Set`);
  if (jwk.alg && jwk.alg !== alg) throw new Error(`key ${kid} is for ${jwk.alg}, token says ${alg}`);
  const { d, p, q, dp, dq, qi, ...publicJwk } = jwk;
  if (d !== undefined) throw new Error(`the JWK Set publishes private key material (kid ${kid})`);
  const key = await crypto.subtle.importKey('jwk', publicJwk, algorithm.importParams, false, ['verify']);
  const ok = await crypto.subtle.verify(algorithm.verifyParams, key, decoded.signature, decoded.signingInput);
  if (!ok) throw new Error(`bad signature on a ${alg} token (kid ${kid})`);
  return decoded;
}
