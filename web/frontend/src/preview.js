// The rendered preview. A note is untrusted input: marked turns it into HTML,
// DOMPurify removes everything that could run or restyle the page, and only the
// sanitised DOM is inserted. The page's CSP forbids inline script as a second line.

import DOMPurify from 'dompurify'
import { Marked } from 'marked'

const marked = new Marked({ gfm: true, breaks: false, async: false })

const purifier = DOMPurify(window)
const SANITIZE = {
  USE_PROFILES: { html: true }, // no SVG or MathML
  FORBID_TAGS: ['style', 'form', 'button', 'textarea', 'select', 'option', 'dialog'],
  FORBID_ATTR: ['style', 'id', 'name'], // no restyling or clobbering the page
  RETURN_DOM_FRAGMENT: true
}

purifier.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer nofollow')
  }
  if (node.tagName === 'INPUT') {
    // Only the task-list boxes of GFM, and never live ones.
    if (node.getAttribute('type') !== 'checkbox') node.remove()
    else node.setAttribute('disabled', '')
  }
})

/** Markdown in, a sanitised DocumentFragment out. */
export function renderMarkdown (text) {
  return purifier.sanitize(marked.parse(text), SANITIZE)
}

// Re-rendering the whole note is cheap for notes, but not on every keystroke of a fast typist.
const RENDER_INTERVAL_MS = 120

/** Keep `target` showing `ytext` rendered, while `isVisible()`; returns a refresh function. */
export function attachPreview (target, ytext, isVisible) {
  let timer = null
  let stale = true
  const render = () => {
    timer = null
    if (!isVisible()) return
    stale = false
    target.replaceChildren(renderMarkdown(ytext.toString()))
  }
  ytext.observe(() => {
    stale = true
    if (timer === null) timer = setTimeout(render, RENDER_INTERVAL_MS)
  })
  return () => { if (stale) render() }
}
