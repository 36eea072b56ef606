// The files built beside app.js (build.mjs) that a page loads only once a note uses
// them: the emoji table, KaTeX, Mermaid. The page names their addresses in
// <body data-…-src>; each file sets one global when it runs.

const loads = new Map() // data key -> Promise of what its file set on window

/**
 * Load, once, the file whose address is `<body data-{dataKey}>`; resolves to
 * `window[global]`. A file that did not load (offline) is tried again at the next call.
 */
export function loadFile (dataKey, global) {
  if (!loads.has(dataKey)) {
    const src = document.body?.dataset[dataKey]
    if (!src) return Promise.reject(new Error(`this page names no ${dataKey}`))
    loads.set(dataKey, new Promise((resolve, reject) => {
      const script = document.createElement('script')
      script.src = src
      script.onload = () => resolve(window[global])
      script.onerror = () => {
        loads.delete(dataKey)
        script.remove()
        reject(new Error(`${src} could not be loaded`))
      }
      document.head.append(script)
    }))
  }
  return loads.get(dataKey)
}
