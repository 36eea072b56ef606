// The page's side of working offline: register the service worker (sw.js), and
// ask it to keep this page and the bundle, so that a reload without a network
// opens the note from its IndexedDB copy instead of the browser's error page.

const assetUrls = () => [
  ...document.querySelectorAll('script[src], link[rel="stylesheet"], link[rel="icon"]')
].map((element) => element.src || element.href)

/** Keep this page for offline use; `forget` is a page of this note no longer valid. */
export function keepOffline ({ forget = null } = {}) {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return
  navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready).then((registration) => {
    registration.active?.postMessage({
      type: 'keep',
      page: location.pathname,
      assets: assetUrls(),
      forget
    })
  }, (problem) => console.warn('collab-notes: no offline copy of this page:', problem))
}

/** Forget the offline copy of a note's page (the note was forgotten or deleted). */
export function forgetOffline (path) {
  navigator.serviceWorker?.controller?.postMessage({ type: 'forget', page: path })
}
