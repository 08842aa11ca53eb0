// The peer a Node user would deploy instead of Tollgate's authorizer, the one both measurements
// use: aws-jwt-verify (pinned in package.json) checks the token, then the same IAM policy and
// context as Tollgate's are built from the same REST TOKEN event.
//
//   node peer.cjs bench FIXTURE.json [SAMPLES] [BATCH]   (`make bench`)
//     Reads the fixture the Rust bench wrote (same keys, tokens and events), checks that every
//     answer equals Tollgate's, then times decisions in this process and prints one JSON line per
//     algorithm: {"alg":"ES256","median_us":..,"samples":..,"batch":..}
//   node peer.cjs runtime                                  (`make measure`)
//     The decision behind the smallest Lambda Runtime API loop (Node's own `http`; AWS's managed
//     Node runtime adds its runtime interface client on top, so its start is a lower bound), for
//     the cold start and cost figures. Env: AWS_LAMBDA_RUNTIME_API, ISSUER, AUDIENCE, JWKS_FILE
//     (the keys are read from the file: no network at start), ROUTE_SCOPES.
"use strict";
const fs = require("node:fs");
const { JwtVerifier } = require("aws-jwt-verify");

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const RESERVED = ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "auth_time", "typ", "cnf", "sid"];
const GATEWAY_KEYS = ["principalid", "integrationlatency", "claims", "scopes", "jwt", "lambda", "iam"];
// The spellings Tollgate refuses (dot segments, '//', encodings, case-folding characters,
// upper-case letters), as IAM patterns after `{api}/{stage}/`.
const REFUSED = ["*//*", "*/*/", "*/./*", "*/.", "*/../*", "*/..", "*%*", "*\\*", "*;*",
  "*\u017f*", "*\u212a*", "*\u0130*", "*\u0131*",
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("").map((c) => `*/*${c}*`)];

function parseRules(raw) {
  return raw.split(/[;\n]/).map((r) => r.trim()).filter(Boolean).map((r) => {
    const [route, scopes] = r.split("=");
    const [method, path] = route.trim().split(" ");
    const m = method.toUpperCase();
    return { method: m === "ANY" ? "*" : m, path: path.trim(), scopes: scopes.trim().split(" ").filter(Boolean) };
  });
}

function parseArn(arn) {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn" || parts[2] !== "execute-api") return null;
  const tail = parts.slice(5).join(":");
  const [api, stage, method, ...rest] = tail.split("/");
  if (!api || !stage || !METHODS.includes(method) || tail.includes("?")) return null;
  return { prefix: `${parts.slice(0, 5).join(":")}:${api}/${stage}/`, method, path: `/${rest.join("/")}` };
}

function resources(prefix, rule) {
  const methods = rule.method === "*" ? METHODS : [rule.method];
  return methods.map((m) => `${prefix}${m}${rule.path}`);
}

function statement(effect, resource) {
  return { Action: "execute-api:Invoke", Effect: effect, Resource: resource };
}

function policy(rules, scopes, arn) {
  const ok = (r) => r.scopes.every((s) => scopes.has(s));
  const allow = rules.filter(ok).flatMap((r) => resources(arn.prefix, r));
  if (allow.length === 0) {
    return { Version: "2012-10-17", Statement: [statement("Deny", [`${arn.prefix}*`])] };
  }
  const deny = rules.filter((r) => !ok(r)).flatMap((r) => resources(arn.prefix, r));
  const statements = [statement("Allow", allow)];
  if (deny.length > 0) statements.push(statement("Deny", deny));
  statements.push(statement("Deny", REFUSED.map((p) => `${arn.prefix}${p}`)));
  return { Version: "2012-10-17", Statement: statements };
}

function context(payload) {
  const ctx = { sub: payload.sub, client_id: payload.client_id, scope: payload.scope };
  for (const [k, v] of Object.entries(payload)) {
    if (RESERVED.includes(k) || GATEWAY_KEYS.includes(k.toLowerCase()) || v === null) continue;
    ctx[k] = typeof v === "object" ? JSON.stringify(v) : v;
  }
  return ctx;
}

/** One decision: event JSON text in, answer JSON text out; throws "Unauthorized". */
function decide(verifier, rules, eventText) {
  const event = JSON.parse(eventText);
  const credential = event.authorizationToken;
  if (typeof credential !== "string" || !credential.startsWith("Bearer ")) throw new Error("Unauthorized");
  let payload;
  try {
    payload = verifier.verifySync(credential.slice(7));
  } catch {
    throw new Error("Unauthorized");
  }
  const arn = parseArn(event.methodArn ?? "");
  if (!arn) throw new Error("Unauthorized");
  const scopes = new Set(payload.scope.split(" "));
  return JSON.stringify({ principalId: payload.sub, policyDocument: policy(rules, scopes, arn), context: context(payload) });
}

function verifier(issuer, audience, jwks) {
  const v = JwtVerifier.create({ issuer, audience, jwksUri: `${issuer}/.well-known/jwks.json` });
  v.cacheJwks(jwks);
  return v;
}

function bench(fixturePath, samplesArg, batchArg) {
  const { deepStrictEqual } = require("node:assert/strict");
  const fixture = JSON.parse(fs.readFileSync(fixturePath, "utf8"));
  const samples = Number(samplesArg ?? 101);
  const batch = Number(batchArg ?? 200);
  const rules = parseRules(fixture.route_scopes);
  for (const c of fixture.cases) {
    const v = verifier(fixture.issuer, fixture.audience, c.jwks);
    const eventText = JSON.stringify(c.event);
    // The same decision as Tollgate's, or the comparison means nothing.
    deepStrictEqual(JSON.parse(decide(v, rules, eventText)), c.answer);
    for (let i = 0; i < 2000; i++) decide(v, rules, eventText);
    const perDecision = [];
    for (let s = 0; s < samples; s++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) decide(v, rules, eventText);
      perDecision.push(Number(process.hrtime.bigint() - t0) / 1000 / batch);
    }
    perDecision.sort((a, b) => a - b);
    const median = perDecision[Math.floor(perDecision.length / 2)];
    console.log(JSON.stringify({ alg: c.alg, median_us: Number(median.toFixed(2)), samples, batch }));
  }
}

async function runtime() {
  const http = require("node:http");
  const env = process.env;
  const v = verifier(env.ISSUER, env.AUDIENCE, JSON.parse(fs.readFileSync(env.JWKS_FILE, "utf8")));
  const rules = parseRules(env.ROUTE_SCOPES ?? "");
  const [host, port] = env.AWS_LAMBDA_RUNTIME_API.split(":");
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const base = "/2018-06-01/runtime/invocation/";
  const call = (method, path, body) => new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    if (body !== undefined) req.setHeader("Content-Type", "application/json");
    req.end(body);
  });
  for (;;) {
    const next = await call("GET", base + "next");
    const id = next.headers["lambda-runtime-aws-request-id"];
    try {
      await call("POST", base + id + "/response", decide(v, rules, next.body.toString("utf8")));
    } catch (e) {
      await call("POST", base + id + "/error", JSON.stringify({ errorMessage: e.message, errorType: "Error" }));
    }
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "bench") bench(...args);
else if (mode === "runtime") runtime();
else throw new Error(`usage: node peer.cjs bench FIXTURE.json [SAMPLES] [BATCH] | node peer.cjs runtime`);
