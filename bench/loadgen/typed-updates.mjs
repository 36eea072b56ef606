#!/usr/bin/env node
// Write `count` Yjs updates, each appending one character to the note's text (what a
// client typing produces), to `file`: every update as a 4-byte little-endian length
// followed by its bytes. The restore scenario stores them as a note's update log.
//
//   node typed-updates.mjs <count> <file>

import { writeFileSync } from 'node:fs'
import * as Y from 'yjs'
import { TEXT } from './client.mjs'

const TYPED = 'the quick brown fox jumps over the lazy dog\n'

const [count, file] = [Number(process.argv[2]), process.argv[3]]
if (!Number.isInteger(count) || count <= 0 || !file) {
  console.error('usage: node typed-updates.mjs <count> <file>')
  process.exit(2)
}

const doc = new Y.Doc()
const text = doc.getText(TEXT)
const parts = []
doc.on('update', (update) => {
  const length = Buffer.alloc(4)
  length.writeUInt32LE(update.length)
  parts.push(length, update)
})
for (let i = 0; i < count; i++) text.insert(i, TYPED[i % TYPED.length])
writeFileSync(file, Buffer.concat(parts))
