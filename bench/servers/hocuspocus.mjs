// Hocuspocus as it ships: no extensions, documents kept in memory while anyone is connected.
//
//   node hocuspocus.mjs <port>
//
// bench/run copies this file next to the installed @hocuspocus/server and starts it there.

import { Server } from '@hocuspocus/server'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node hocuspocus.mjs <port>')
  process.exit(2)
}

const server = new Server({ port, address: '127.0.0.1', quiet: true })
await server.listen()
console.error(`hocuspocus listening on 127.0.0.1:${port}`)
