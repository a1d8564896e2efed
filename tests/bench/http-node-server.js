// http-node-server.js: Node's http module answering the same fixed body as
// http-minimal-server.c, for comparison.   node http-node-server.js PORT
'use strict';
const http = require('http');

const body = 'Hello, World!\n';
http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8',
                       'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.argv[2]), '127.0.0.1');
