// ```mermaid fences drawn as diagrams. Mermaid is 3.5 MB, so it is a file of its
// own (mermaid.js, its address in <body data-mermaid-src>) that a page loads (lazyfiles.js) only
// once a note has such a fence; until then, and when it cannot load, the fence
// shows as code.
//
// Notes are untrusted. Mermaid runs at its strict security level (labels
// sanitised, no click bindings), with no HTML labels (text in SVG <text>, no
// <foreignObject>), and a note's %%{init}%% directive may not change those. Its SVG
// is sanitised again here with DOMPurify's SVG profile before it is inserted.
//
// Mermaid styles a diagram with a <style> element inside its SVG; the page's CSP
// refuses <style> without the page's nonce (web/routes/pages.py), so the nonce is
// given to those elements before they join the page. The CSP stays as it is.

import DOMPurify from 'dompurify'
import { loadFile } from './lazyfiles.js'

const CONFIG = {
  startOnLoad: false,
  securityLevel: 'strict',
  htmlLabels: false,
  flowchart: { htmlLabels: false },
  suppressErrorRendering: true, // an error is shown here, in place, not as Mermaid's bomb picture
  theme: 'default',
  // What a note's %%{init: ...}%% may not change: these and Mermaid's own secure keys.
  secure: ['secure', 'securityLevel', 'startOnLoad', 'maxTextSize', 'suppressErrorRendering', 'maxEdges',
    'htmlLabels', 'themeCSS']
}

const purifier = DOMPurify(window)
const SANITIZE = {
  USE_PROFILES: { svg: true, svgFilters: true },
  FORBID_TAGS: ['foreignObject', 'style'],
  RETURN_DOM_FRAGMENT: true
}

// Drawn diagrams by source text, so that a block rendered again (an edit elsewhere
// in it, the history's view) shows its diagram at once instead of its code first.
const CACHE_SIZE = 64
const drawn = new Map() // source -> {svg, id} | {error}
const drawing = new Map() // source -> Promise of the same
let mermaid = null // once loaded and set up
let count = 0

/** Draw the ```mermaid fences of a sanitised fragment (or show them as code until Mermaid is here). */
export function renderDiagrams (root) {
  const fences = root.querySelectorAll('pre > code.language-mermaid')
  // Most blocks have none; they leave `replaced` to the edited diagram's block, which a
  // render that redraws several blocks (a paragraph before it too) may reach second.
  if (fences.length === 0) return
  noteReplaced()
  for (const code of fences) {
    const pre = code.parentElement
    const source = code.textContent
    const figure = document.createElement('div')
    figure.className = 'diagram'
    pre.replaceWith(figure)
    if (drawn.has(source)) {
      show(figure, drawn.get(source), pre)
      continue
    }
    figure.classList.add('diagram-pending')
    const before = replaced.length === 1 ? replaced.pop() : null
    if (before) figure.append(...before.childNodes) // its last drawing, dimmed, until this one is drawn
    else figure.append(pre)
    draw(source).then((result) => show(figure, result, pre), () => {}) // not loaded: stays as code
  }
}

// A diagram edited in the live preview: its block is replaced by one whose diagram is
// not drawn yet. Showing the old drawing meanwhile, not its code, keeps the preview
// from flashing at every keystroke. The preview removes a changed block before it
// renders the new one, so a drawing that was on the page and is not any more, when
// exactly one is (one diagram edited), is the one this new diagram replaces.
const onPage = new Set() // figures showing a drawing that have been seen on the page
let replaced = []

function noteReplaced () {
  replaced = []
  if (onPage.size === 0) return
  for (const figure of onPage) {
    if (!figure.isConnected) {
      onPage.delete(figure)
      replaced.push(figure)
    }
  }
}

function watch (figure) {
  requestAnimationFrame(() => { if (figure.isConnected) onPage.add(figure) })
}

/** Settles once the diagrams being drawn now are drawn (or in at most `limitMs`). */
export function diagramsDrawn (limitMs = 5000) {
  const drawings = Promise.allSettled([...drawing.values()])
  return Promise.race([drawings, new Promise((resolve) => setTimeout(resolve, limitMs))])
}

function draw (source) {
  if (!drawing.has(source)) {
    const result = loadMermaid().then((mermaid) => drawWith(mermaid, source))
    drawing.set(source, result)
    result.then((entry) => remember(source, entry), () => {}).finally(() => drawing.delete(source))
  }
  return drawing.get(source)
}

async function drawWith (mermaid, source) {
  const id = `diagram-${++count}z` // "z": no id is the start of another
  const restore = nonceNewStyles()
  try {
    const { svg } = await mermaid.render(id, source)
    return { svg, id }
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) }
  } finally {
    restore()
    document.getElementById(`d${id}`)?.remove() // Mermaid's scratch element, if an error left it
  }
}

/**
 * While Mermaid draws: the <style> elements it makes (document.createElement) carry
 * the page's nonce. It draws each diagram once in a scratch element of the page to
 * measure its labels; refused, that style would leave them measured in another font.
 * Only elements made by script get it, never markup a note brings.
 */
function nonceNewStyles () {
  if (drawingNow++ === 0) {
    const create = Document.prototype.createElement
    const nonce = styleNonce()
    document.createElement = function (name, options) {
      const element = create.call(this, name, options)
      if (element instanceof HTMLStyleElement) element.setAttribute('nonce', nonce)
      return element
    }
  }
  return () => { if (--drawingNow === 0) delete document.createElement }
}

let drawingNow = 0 // renders under way (Mermaid queues them; ours may overlap)

function remember (source, entry) {
  drawn.delete(source)
  drawn.set(source, entry)
  if (drawn.size > CACHE_SIZE) drawn.delete(drawn.keys().next().value)
}

function show (figure, entry, pre) {
  figure.classList.remove('diagram-pending')
  if (entry.error !== undefined) {
    figure.classList.add('diagram-error')
    const box = document.createElement('div')
    box.className = 'diagram-message'
    box.setAttribute('role', 'note')
    box.textContent = `This diagram could not be drawn: ${entry.error}`
    figure.replaceChildren(box, pre)
    return
  }
  figure.replaceChildren(svgOf(entry))
  watch(figure)
}

/**
 * The diagram as nodes of this page: with ids of its own (the same diagram may be
 * shown twice, in the preview and the history), its SVG sanitised, and its style
 * sheet in a <style> with the page's nonce, holding only rules scoped to it.
 */
function svgOf ({ svg, id }) {
  const own = `diagram-${++count}z`
  const text = svg.replaceAll(id, own)
  // Mermaid's one <style> first in its <svg>, taken out before anything parses it:
  // parsed as markup, it is refused (and reported) by the CSP even in a detached document.
  const match = /^(<svg[^>]*>)<style[^>]*>([^<]*)<\/style>/.exec(text)
  const fragment = purifier.sanitize(match ? match[1] + text.slice(match[0].length) : text, SANITIZE)
  for (const link of fragment.querySelectorAll('a')) { // `click A href "…"`: as the preview's links
    link.setAttribute('target', '_blank')
    link.setAttribute('rel', 'noopener noreferrer nofollow')
  }
  const style = document.createElement('style')
  style.setAttribute('nonce', styleNonce())
  style.textContent = match ? scopedRules(match[2], `#${own}`) : ''
  fragment.prepend(style)
  return fragment
}

/**
 * The rules of `css` whose every selector starts with `scope` (an id, not the start
 * of a longer one), and Mermaid's own animations: nothing a note's classDef could
 * smuggle in reaches the rest of the page.
 */
function scopedRules (css, scope) {
  const sheet = new CSSStyleSheet() // parsed, never applied: no CSP check
  sheet.replaceSync(css)
  const inScope = (selector) => selector.startsWith(scope) && !/^[\w-]/.test(selector.slice(scope.length))
  return [...sheet.cssRules]
    .filter((rule) => rule instanceof CSSKeyframesRule
      ? MERMAID_KEYFRAMES.has(rule.name)
      : rule instanceof CSSStyleRule && rule.selectorText.split(',').every((part) => inScope(part.trim())))
    .map((rule) => rule.cssText)
    .join('\n')
}

const MERMAID_KEYFRAMES = new Set(['dash', 'edge-animation-frame'])

/** The page's CSP nonce for <style>: the note page names it; CodeMirror's styles carry it. */
const styleNonce = () => document.body.dataset.styleNonce || document.querySelector('style[nonce]')?.nonce || ''

function loadMermaid () {
  return loadFile('mermaidSrc', 'collabNotesMermaid').then((loaded) => {
    if (mermaid === null) {
      mermaid = loaded
      mermaid.initialize(CONFIG)
    }
    return mermaid
  })
}
