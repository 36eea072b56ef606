// Who this browser is to the others: a friendly name and a colour, kept in localStorage.

import { readJSON, writeJSON } from './store.js'

const KEY = 'collab-notes:identity'
export const MAX_NAME_LENGTH = 40

const ADJECTIVES = ['Calm', 'Brave', 'Bright', 'Curious', 'Gentle', 'Happy', 'Kind', 'Lucky',
  'Nimble', 'Quiet', 'Sunny', 'Swift', 'Clever', 'Cosy', 'Jolly', 'Witty']
const ANIMALS = ['Otter', 'Heron', 'Fox', 'Badger', 'Lynx', 'Panda', 'Robin', 'Seal',
  'Koala', 'Falcon', 'Hedgehog', 'Owl', 'Marten', 'Puffin', 'Wren', 'Yak']

// Saturated enough for a caret on white, each with a light tint for selections.
const COLORS = ['#d1495b', '#e07a1f', '#b8860b', '#2e9e5b', '#138a8a', '#2f7dd1',
  '#5b5bd6', '#8e44ad', '#c2407e', '#6d7a2b']

const pick = (list) => list[Math.floor(Math.random() * list.length)]

export const cleanName = (name) => String(name ?? '').replace(/\s+/g, ' ').trim().slice(0, MAX_NAME_LENGTH)

const withLight = (color) => ({ color, colorLight: color + '33' })

function isValid (saved) {
  return saved && typeof saved.name === 'string' && cleanName(saved.name) !== '' &&
    COLORS.includes(saved.color)
}

/** This browser's identity, made up on the first visit. */
export function loadIdentity () {
  const saved = readJSON(KEY, null)
  if (isValid(saved)) return { name: cleanName(saved.name), ...withLight(saved.color) }
  const fresh = { name: `${pick(ADJECTIVES)} ${pick(ANIMALS)}`, color: pick(COLORS) }
  writeJSON(KEY, fresh)
  return { name: fresh.name, ...withLight(fresh.color) }
}

/** Keep a new name; an empty one keeps the old. Returns the identity now in force. */
export function rename (identity, name) {
  const cleaned = cleanName(name)
  if (cleaned === '') return identity
  const next = { ...identity, name: cleaned }
  writeJSON(KEY, { name: next.name, color: next.color })
  return next
}
