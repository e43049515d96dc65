// A real OpenID Provider for phigate's tests: the certified `oidc-provider`
// package, on 127.0.0.1 only. Started by scripts/lib/oidc.sh; not for production.
//
// Environment (all required): PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, RESOURCE.
// Signing keys (RS256 for ID tokens, ES256 for API access tokens) and cookie
// keys are generated at start: nothing private is committed.
//
// Interactions are oidc-provider's built-in development interactions, which
// a test drives over plain HTTP: POST /interaction/:uid with prompt=login
// (any login name becomes the subject, any password is accepted), then
// prompt=consent. Every account gets the role `clinician`.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc-peer: ${name} is required`);
    process.exit(2);
  }
  return value;
}

const port = Number(need('PORT'));
const clientId = need('CLIENT_ID');
const clientSecret = need('CLIENT_SECRET');
const redirectUri = need('REDIRECT_URI');
const resource = need('RESOURCE');
const issuer = `http://127.0.0.1:${port}`;

function jwk(type, options, kid, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const jwks = {
  keys: [
    jwk('rsa', { modulusLength: 2048 }, 'peer-rs256', 'RS256'),
    jwk('ec', { namedCurve: 'P-256' }, 'peer-es256', 'ES256'),
  ],
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'openid profile email roles api',
  }],
  jwks,
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', 'roles', 'api'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    roles: ['roles'],
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== resource) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'api',
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          name: `Dr ${id}`,
          preferred_username: id,
          email: `${id}@example.test`,
          roles: ['clinician'],
        };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-peer: issuer ${issuer} ready`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
