'use strict';
// The baseline for `npm run bench -- catalog`: a bare node:http hello world, run by plain
// node in a process of its own, with the same server timeouts as server/app.ts. It reads
// the request body (as our server must) before answering.
const { createServer } = require('node:http');

const body = JSON.stringify({ data: { hello: 'world' } });
const server = createServer({ requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
