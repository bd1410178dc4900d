// Reference server for Banter's benchmark (`just bench`): the minimal Node `ws` broadcast server
// that people would otherwise pick. Every text frame received is sent to every open client, the
// sender included, exactly as received (the README's "broadcast to all clients" pattern). It
// speaks the classic `{user, message}` chat format simply by echoing whatever clients send.
//
// Usage: node server.js [PORT] [HOST]   (or PORT / HOST in the environment; defaults 8080, 127.0.0.1)
'use strict';

const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || process.env.PORT || 8080);
const host = process.argv[3] || process.env.HOST || '127.0.0.1';

// `perMessageDeflate: false` is ws's default for servers; spelled out so nobody wonders.
const wss = new WebSocketServer({ host, port, perMessageDeflate: false, backlog: 4096 });

wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    }
  });
});

wss.on('listening', () => {
  console.log(`node-ws broadcast server listening on ws://${host}:${port}/ (pid ${process.pid})`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => process.exit(0));
}
