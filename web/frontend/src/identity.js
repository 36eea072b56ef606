// Who this browser is to the others: a friendly name and a colour, kept in localStorage.

import { readJSON, writeJSON } from './store.js'

const KEY = 'collab-notes:identity'
export const MAX_NAME_LENGTH = 40

const ADJECTIVES = ['Calm', 'Brave', 'Bright', 'Curious', 'Gentle', 'Happy', 'Kind', 'Lucky',
  'Nimble', 'Quiet', 'Sunny', 'Swift', 'Clever', 'Cosy', 'Jolly', 'Witty']
const ANIMALS = ['Otter', 'Heron', 'Fox', 'Badger', 'Lynx', 'Panda', 'Robin', 'Seal',
  'Koala', 'Falcon', 'Hedgehog', 'Owl', 'Marten', 'Puffin', 'Wren', 'Yak']

// Ten hues 18 degrees apart or more, each dark enough for white text (caret labels,
// 4.6:1 or more) and light enough to stand out on the dark theme's background (4:1).
export const COLORS = ['#e02939', '#b75c1a', '#907115', '#428413', '#13864d', '#138282',
  '#1b79bd', '#516ae6', '#9052e6', '#ca1dca']

const pick = (list) => list[Math.floor(Math.random() * list.length)]

export const cleanName = (name) => String(name ?? '').replace(/\s+/g, ' ').trim().slice(0, MAX_NAME_LENGTH)

export const withLight = (color) => ({ color, colorLight: color + '33' })
const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(9)), (b) => b.toString(16).padStart(2, '0')).join('')
const ID = /^[0-9a-f]{18}$/

function isValid (saved) {
  return saved && typeof saved.name === 'string' && cleanName(saved.name) !== ''
}

/**
 * This browser's identity, made up on the first visit: a name, a colour, and an
 * id that tells the others that two tabs are one person. A colour from an older
 * palette is replaced.
 */
export function loadIdentity () {
  const saved = readJSON(KEY, null)
  const name = isValid(saved) ? cleanName(saved.name) : `${pick(ADJECTIVES)} ${pick(ANIMALS)}`
  const color = COLORS.includes(saved?.color) ? saved.color : pick(COLORS)
  const id = ID.test(saved?.id ?? '') ? saved.id : newId()
  if (!isValid(saved) || saved.color !== color || saved.id !== id) writeJSON(KEY, { name, color, id })
  return { name, id, ...withLight(color) }
}

/** Keep a new name; an empty one keeps the old. Returns the identity now in force. */
export function rename (identity, name) {
  const cleaned = cleanName(name)
  if (cleaned === '') return identity
  const next = { ...identity, name: cleaned }
  const saved = readJSON(KEY, {})
  writeJSON(KEY, { ...saved, name: next.name, color: saved.color ?? next.color, id: next.id })
  return next
}
