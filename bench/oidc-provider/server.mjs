// oidc-provider v9 configured like Lanyard's benchmark set-up, for scripts/bench-token.sh:
// one confidential client (client_secret_basic) allowed the client_credentials grant, whose
// access tokens are RFC 9068 JWTs signed with ES256 (features.resourceIndicators with a
// default resource whose accessTokenFormat is 'jwt'). Like Lanyard, a JWT access token is not
// written to any store (oidc-provider persists only opaque tokens). Static clients from
// configuration, the default in-memory adapter, no interactions.
//
// Environment: BENCH_PORT (required), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET (required),
// BENCH_SCOPE (default "api:read").

import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.BENCH_PORT);
const clientId = process.env.BENCH_CLIENT_ID ?? 'bench';
const clientSecret = process.env.BENCH_CLIENT_SECRET;
const scope = process.env.BENCH_SCOPE ?? 'api:read';
if (!port || !clientSecret) {
  console.error('BENCH_PORT and BENCH_CLIENT_SECRET are required');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;
const resource = 'https://api.example.com';

// A fresh P-256 key per run, as Lanyard generates its own on first start.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope,
    },
  ],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  jwks: { keys: [jwk] },
  scopes: scope.split(' '),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope,
        audience: resource,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  console.error(`oidc-provider ${issuer} ready`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
