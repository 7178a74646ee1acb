import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A serving template of our own for MP_TEMPLATES_DIR (it takes the built-in one's name): a real
 * child process that answers /health, prints one line with its deployment id and token (for the
 * masking of deployment logs) and stays up. It sends no heartbeats: tests send them with the
 * deployment's token.
 */
export function writeQuietServingTemplate(root: string): void {
  const dir = path.join(root, 'runpod-signal-http');
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'quiet-endpoint', mp: { entry: 'src/server.ts' } }));
  writeFileSync(
    path.join(dir, 'src', 'server.ts'),
    `import { createServer } from 'node:http';
const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"READY"}'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log('listening on ' + process.env.PORT + ' for ' + process.env.MP_DEPLOYMENT_ID + ' token ' + process.env.MP_DEPLOYMENT_TOKEN);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  );
}
