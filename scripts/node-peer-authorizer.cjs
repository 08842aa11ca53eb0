// The peer a Node user would deploy instead of Tollgate's authorizer, for `make measure`'s cold
// start and cost figures only: aws-jwt-verify (pinned, resolved through NODE_PATH) deciding a
// TOKEN authorizer event, behind the smallest Lambda Runtime API loop (Node's own `http`; AWS's
// managed Node runtime adds its runtime interface client on top, so this start is a lower bound).
// Env: ISSUER, AUDIENCE, JWKS_FILE (the keys are read from the file: no network at start).
"use strict";
const fs = require("fs");
const http = require("http");
const { JwtVerifier } = require("aws-jwt-verify");

const jwksUri = "https://keys.invalid/.well-known/jwks.json";
const verifier = JwtVerifier.create({
  issuer: process.env.ISSUER,
  audience: process.env.AUDIENCE,
  jwksUri,
});
verifier.cacheJwks(JSON.parse(fs.readFileSync(process.env.JWKS_FILE, "utf8")));

async function handler(event) {
  const token = (event.authorizationToken || "").replace(/^Bearer /i, "");
  try {
    const claims = await verifier.verify(token);
    const [arn] = event.methodArn.split("/");
    return {
      principalId: claims.sub,
      policyDocument: {
        Version: "2012-10-17",
        Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: `${arn}/*/*` }],
      },
      context: { sub: claims.sub, client_id: claims.client_id, scope: claims.scope || "" },
    };
  } catch {
    throw new Error("Unauthorized");
  }
}

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = "/2018-06-01/runtime/invocation/";

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    if (body !== undefined) req.setHeader("Content-Type", "application/json");
    req.end(body);
  });
}

(async () => {
  for (;;) {
    const next = await call("GET", base + "next");
    const id = next.headers["lambda-runtime-aws-request-id"];
    try {
      const out = await handler(JSON.parse(next.body));
      await call("POST", base + id + "/response", JSON.stringify(out));
    } catch (e) {
      await call("POST", base + id + "/error", JSON.stringify({ errorMessage: e.message, errorType: "Error" }));
    }
  }
})();
