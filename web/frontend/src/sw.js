// The service worker: the app shell offline. Pages (the home page and the notes
// this browser opened) are fetched from the network first and kept; without a
// network the kept copy is served, and the note opens from its IndexedDB copy.
// The bundle's URLs carry a hash of its content, so a kept copy is always right.
// A note's files (GET /api/notes/<token>/files/<id>) are kept too, cache first:
// the bytes under an id never change. They have a cache of their own, bounded
// (MAX_FILE_BYTES, MAX_FILES; the oldest kept go first), and a token's files go
// when the server answers 404 for its page or a file (a replaced link, a deleted
// note) or when the home page forgets the note.
// Served as /sw.js so that its scope covers /n/ pages. Only same-origin GETs of
// pages, /static/ and files are touched; the rest of the API and the websocket
// never go through it.

/* eslint-env serviceworker */

const PAGES = 'collab-notes-pages-v1'
const ASSETS = 'collab-notes-assets-v1'
const FILES = 'collab-notes-files-v1'
const MAX_FILE_BYTES = 100 * 1024 * 1024
const MAX_FILES = 2000

const isPage = (url) => url.pathname === '/' || url.pathname.startsWith('/n/')
const pageKey = (url) => new URL(url, self.location.origin).pathname
const FILE_PATH = /^\/api\/notes\/([^/]+)\/files\/[^/]+$/
const fileToken = (path) => FILE_PATH.exec(path)?.[1] ?? null
const pageToken = (path) => /^\/n\/([^/]+)$/.exec(path)?.[1] ?? null

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  if (request.mode === 'navigate' && isPage(url)) event.respondWith(networkFirst(request))
  else if (url.pathname.startsWith('/static/')) event.respondWith(cacheFirst(request))
  else if (fileToken(url.pathname) !== null && !request.headers.has('Range')) {
    event.respondWith(fileFirst(event, url.pathname))
  }
})

async function networkFirst (request) {
  const pages = await caches.open(PAGES)
  const key = pageKey(request.url)
  try {
    const response = await fetch(request)
    if (response.ok) await pages.put(key, response.clone())
    else if (response.status === 404) { // deleted or replaced
      await pages.delete(key)
      await dropFiles(pageToken(key))
    }
    return response
  } catch (problem) {
    const kept = await pages.match(key)
    if (kept) return kept
    return offlinePage()
  }
}

async function cacheFirst (request) {
  const kept = await caches.match(request, { cacheName: ASSETS })
  if (kept) return kept
  const response = await fetch(request)
  if (response.ok) await (await caches.open(ASSETS)).put(request, response.clone())
  return response
}

async function fileFirst (event, key) {
  const files = await caches.open(FILES)
  const kept = await files.match(key)
  if (kept) return kept
  const response = await fetch(event.request)
  // Kept while the page already reads it: the page never waits for the copy.
  if (response.status === 200) event.waitUntil(files.put(key, response.clone()).then(trimFiles))
  else if (response.status === 404) event.waitUntil(dropFiles(fileToken(key)))
  return response
}

/** Forget the kept files of a note's link `token`. */
async function dropFiles (token) {
  if (!token) return
  const files = await caches.open(FILES)
  const prefix = `/api/notes/${token}/files/`
  for (const request of await files.keys()) {
    if (new URL(request.url).pathname.startsWith(prefix)) await files.delete(request)
  }
}

let trimming = null
let trimAgain = false

/** Keep the files' cache within its bounds, newest first; one trim at a time. */
function trimFiles () {
  if (trimming) {
    trimAgain = true
    return trimming
  }
  trimming = (async () => {
    do {
      trimAgain = false
      const files = await caches.open(FILES)
      const requests = await files.keys() // in the order they were put: oldest first
      let bytes = 0
      for (let i = requests.length - 1; i >= 0; i--) {
        const response = await files.match(requests[i])
        bytes += Number(response?.headers.get('Content-Length')) || (await response?.clone().blob())?.size || 0
        if (bytes > MAX_FILE_BYTES || requests.length - i > MAX_FILES) await files.delete(requests[i])
      }
    } while (trimAgain)
  })().finally(() => { trimming = null })
  return trimming
}

/** Keep files the page names; asked of the server (a 304, mostly), since the HTTP
 * cache would still give a file whose link was replaced or whose note was deleted. */
async function keepFiles (urls) {
  const files = await caches.open(FILES)
  await Promise.all(urls.map(async (url) => {
    const key = new URL(url, self.location.origin).pathname
    if (fileToken(key) === null || (await files.match(key))) return
    const response = await fetch(key, { credentials: 'same-origin', cache: 'no-cache' })
    if (response.status === 200) await files.put(key, response)
  }))
  await trimFiles()
}

function offlinePage () {
  const body = '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
    '<title>Offline · collab-notes</title><main style="font: 16px/1.5 system-ui, sans-serif; ' +
    'max-width: 32rem; margin: 4rem auto; padding: 0 1rem"><h1>You are offline</h1>' +
    '<p>This page was not opened on this device before, so there is no copy of it here. ' +
    'Notes you have opened here open offline.</p></main>'
  return new Response(body, {
    status: 503,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'"
    }
  })
}

async function keep ({ page, assets, forget, files }) {
  const pages = await caches.open(PAGES)
  if (forget) {
    await pages.delete(pageKey(forget))
    await dropFiles(pageToken(pageKey(forget)))
  }
  if (page && !(await pages.match(pageKey(page)))) {
    const response = await fetch(page, { credentials: 'same-origin' })
    if (response.ok) await pages.put(pageKey(page), response)
  }
  if (Array.isArray(assets) && assets.length > 0) {
    const cache = await caches.open(ASSETS)
    await Promise.all(assets.map(async (url) => {
      if (!(await cache.match(url))) await cache.add(url)
    }))
    // Older builds of the bundle are never asked for again.
    for (const request of await cache.keys()) {
      if (!assets.includes(request.url)) await cache.delete(request)
    }
  }
  if (Array.isArray(files) && files.length > 0) await keepFiles(files)
}

self.addEventListener('message', (event) => {
  const data = event.data ?? {}
  if (data.type === 'keep') {
    event.waitUntil(keep(data).catch((problem) => console.warn('collab-notes: could not keep a page offline:', problem)))
  }
  else if (data.type === 'forget' && data.page) {
    const key = pageKey(data.page)
    event.waitUntil(caches.open(PAGES).then((pages) => pages.delete(key)).then(() => dropFiles(pageToken(key))))
  }
})
