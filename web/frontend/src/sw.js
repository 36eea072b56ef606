// The service worker: the app shell offline. Pages (the home page and the notes
// this browser opened) are fetched from the network first and kept; without a
// network the kept copy is served, and the note opens from its IndexedDB copy.
// The bundle's URLs carry a hash of its content, so a kept copy is always right.
// Served as /sw.js so that its scope covers /n/ pages. Only same-origin GETs of
// pages and /static/ are touched; the API and the websocket never go through it.

/* eslint-env serviceworker */

const PAGES = 'collab-notes-pages-v1'
const ASSETS = 'collab-notes-assets-v1'

const isPage = (url) => url.pathname === '/' || url.pathname.startsWith('/n/')
const pageKey = (url) => new URL(url, self.location.origin).pathname

self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  if (request.mode === 'navigate' && isPage(url)) event.respondWith(networkFirst(request))
  else if (url.pathname.startsWith('/static/')) event.respondWith(cacheFirst(request))
})

async function networkFirst (request) {
  const pages = await caches.open(PAGES)
  const key = pageKey(request.url)
  try {
    const response = await fetch(request)
    if (response.ok) await pages.put(key, response.clone())
    else if (response.status === 404) await pages.delete(key) // deleted or replaced
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

async function keep ({ page, assets, forget }) {
  const pages = await caches.open(PAGES)
  if (forget) await pages.delete(pageKey(forget))
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
}

self.addEventListener('message', (event) => {
  const data = event.data ?? {}
  if (data.type === 'keep') {
    event.waitUntil(keep(data).catch((problem) => console.warn('collab-notes: could not keep a page offline:', problem)))
  }
  else if (data.type === 'forget' && data.page) {
    event.waitUntil(caches.open(PAGES).then((pages) => pages.delete(pageKey(data.page))))
  }
})
