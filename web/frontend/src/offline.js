// The page's side of working offline: register the service worker (sw.js), and
// ask it to keep this page and the bundle, so that a reload without a network
// opens the note from its IndexedDB copy instead of the browser's error page.

const assetUrls = () => [
  ...document.querySelectorAll('script[src], link[rel="stylesheet"], link[rel="icon"]')
].map((element) => element.src || element.href)

// The note's files this page has loaded so far (the worker keeps those it serves
// itself; these are the ones loaded before it controlled the page).
const FILE_PATH = /^\/api\/notes\/[^/]+\/files\/[^/]+$/
// With `all`, the preview's images not loaded yet too.
const fileUrls = ({ all = false } = {}) => [
  ...performance.getEntriesByType('resource').map((entry) => entry.name),
  ...(all ? [...document.querySelectorAll('#preview img[src]')].map((image) => image.src) : [])
].filter((url) => FILE_PATH.test(new URL(url, location.href).pathname))

// When the page is left or hidden, the worker is given every image of the note,
// also those below the fold that were never scrolled to (and so never loaded).
let keepingOnHide = false
function keepFilesOnHide () {
  if (keepingOnHide) return
  keepingOnHide = true
  const keepAll = () => navigator.serviceWorker.controller?.postMessage({ type: 'keep', files: fileUrls({ all: true }) })
  window.addEventListener('pagehide', keepAll)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') keepAll()
  })
}

/** Keep this page for offline use; `forget` is a page of this note no longer valid. */
export function keepOffline ({ forget = null } = {}) {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return
  keepFilesOnHide()
  navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready).then((registration) => {
    registration.active?.postMessage({
      type: 'keep',
      page: location.pathname,
      assets: assetUrls(),
      forget,
      files: fileUrls()
    })
    if (navigator.serviceWorker.controller === null) {
      // A first visit: files loaded until the worker takes the page went around it.
      navigator.serviceWorker.addEventListener('controllerchange', () => {
        navigator.serviceWorker.controller?.postMessage({ type: 'keep', files: fileUrls() })
      }, { once: true })
    }
  }, (problem) => console.warn('collab-notes: no offline copy of this page:', problem))
}

/** Forget the offline copy of a note's page (the note was forgotten or deleted). */
export function forgetOffline (path) {
  navigator.serviceWorker?.controller?.postMessage({ type: 'forget', page: path })
}
