// The rendered preview. A note is untrusted input: marked turns it into HTML,
// DOMPurify removes everything that could run or restyle the page, and only the
// sanitised DOM is inserted. The page's CSP forbids inline script as a second line.
//
// The note is rendered block by block (see blocks.js), and a block is rendered
// again only when its text changed: a keystroke in a 200 KB note re-renders one
// paragraph, where rendering the whole note took 150 ms and more of the main
// thread per keystroke (measured in tests/browser/test_large_note.py).

import DOMPurify from 'dompurify'
import { Lexer, Marked, Parser } from 'marked'
import { fileAddress, fileToken, namesFiles, onFileTokenChanged } from './attachments.js'
import { splitBlocks, taskBoxes } from './blocks.js'
import { highlightAll } from './codeblocks.js'
import { renderDiagrams } from './diagrams.js'
import { EXTENSIONS, HACKMD_CLASS, contextKey, extrasState, noteContext, onExtrasLoaded, renderMath, withContext } from './hackmd.js'
import { markTags, renderFrontMatter } from './tags.js'

// Single line breaks are line breaks, as HackMD and HedgeDoc render them; and what
// else HackMD writes (hackmd.js).
const marked = new Marked({ gfm: true, breaks: true, async: false })
marked.use({ extensions: EXTENSIONS })
// What a block may need a file loaded apart for (hackmd.js): a :code: or math.
const USES_EXTRAS = /:[a-z0-9_+-]+:|\$/

const purifier = DOMPurify(window)
const SANITIZE = {
  USE_PROFILES: { html: true }, // no SVG or MathML
  FORBID_TAGS: ['style', 'form', 'button', 'textarea', 'select', 'option', 'dialog'],
  FORBID_ATTR: ['style', 'id', 'name'], // no restyling or clobbering the page
  RETURN_DOM_FRAGMENT: true
}

// Only the classes the renderer itself gives: marked's `language-*` on fenced code,
// highlight.js's `hljs-*` and its sub-scopes (`function_`, `class_`), and the
// containers, footnotes and contents of HackMD's Markdown (hackmd.js). A note's own
// `<div class="banner">` or `class="toasts"` put the app's fixed-position banner and
// toasts over the page for every reader ("This link no longer works...").
const RENDERER_CLASS = /^(?:language-[\w+#.-]+|hljs-[\w-]+|[a-z]+_+)$/

purifier.addHook('uponSanitizeAttribute', (node, data) => {
  if (data.attrName !== 'class') return
  const kept = data.attrValue.split(/\s+/).filter((name) => RENDERER_CLASS.test(name) || HACKMD_CLASS.test(name))
  if (kept.length === 0) data.keepAttr = false
  else data.attrValue = kept.join(' ')
})

// The note's own files (attachments.js): `attachment:<id>` becomes the file's address
// under this page's token before DOMPurify checks it (it would drop the unknown scheme).
const files = new WeakSet()
purifier.addHook('uponSanitizeAttribute', (node, data) => {
  if ((data.attrName !== 'src' && data.attrName !== 'href') || !data.attrValue.startsWith('attachment:')) return
  const address = fileAddress(data.attrValue)
  if (address === null) data.keepAttr = false
  else {
    data.attrValue = address
    files.add(node)
  }
})

purifier.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer nofollow')
    if (files.has(node)) {
      // A file that is not an image is a download (the server says so too), named by its link.
      node.removeAttribute('target')
      node.setAttribute('download', '')
      node.classList.add('attachment')
    }
  }
  if (node.tagName === 'IMG') node.setAttribute('loading', 'lazy')
  if (node.tagName === 'INPUT') {
    // Only the task-list boxes of GFM; whether they are live is decided later.
    if (node.getAttribute('type') !== 'checkbox') node.remove()
    else node.setAttribute('disabled', '')
  }
})

/**
 * The link reference definitions of `text` (what `[label]: url` lines define), to
 * render blocks that use them without repeating them: a line that only looks like
 * one (a footnote `[^1]: words`) is not a definition and stays in its own block.
 */
export function referenceLinks (text) {
  return text ? Lexer.lex(text, { ...marked.defaults }).links : null
}

function toHtml (text, links) {
  if (links === null) return marked.parse(text)
  const options = { ...marked.defaults } // the lexer writes its tokenizer into them
  const lexer = new Lexer(options)
  Object.assign(lexer.tokens.links, links)
  return Parser.parse(lexer.lex(text), options)
}

/**
 * Markdown in, a sanitised DocumentFragment out (code highlighted, blocked images
 * explained); `links` are reference definitions made elsewhere in the note.
 */
export function renderMarkdown (text, links = null) {
  const fragment = purifier.sanitize(toHtml(text, links), SANITIZE)
  highlightAll(fragment, (html) => purifier.sanitize(html, SANITIZE))
  for (const image of fragment.querySelectorAll('img')) explainBlockedImage(image)
  markTags(fragment)
  renderMath(fragment)
  renderDiagrams(fragment)
  return fragment
}

// -- images the page may not load -----------------------------------------------------

// The page's CSP loads images from this server, data: URLs and https: only.
function whyNotLoadable (src) {
  let url
  try {
    url = new URL(src, location.href)
  } catch {
    return 'its address is not a valid URL'
  }
  if (url.origin === location.origin || url.protocol === 'https:' || url.protocol === 'data:') return null
  if (url.protocol === 'http:') {
    return 'it is on a plain http: address, and this page loads images only over https: (ask for an https: link)'
  }
  return `this page does not load images from ${url.protocol} addresses`
}

function imageNotice (image, reason) {
  const notice = document.createElement('span')
  notice.className = 'image-notice'
  const alt = image.getAttribute('alt')
  notice.append(`Image${alt ? ` “${alt}”` : ''} not shown: ${reason}. `)
  const src = image.getAttribute('src') ?? ''
  if (/^https?:/i.test(src)) {
    const link = document.createElement('a')
    link.href = src
    link.textContent = 'Open it'
    link.target = '_blank'
    link.rel = 'noopener noreferrer nofollow'
    notice.append(link)
  }
  return notice
}

function explainBlockedImage (image) {
  const reason = whyNotLoadable(image.getAttribute('src') ?? '')
  if (reason !== null) image.replaceWith(imageNotice(image, reason))
}

// A tight list's box is the item's first child; a loose list's is its first paragraph's.
const TASK_BOXES = 'li > input[type="checkbox"]:first-child, li > p:first-child > input[type="checkbox"]:first-child'

// -- the live preview -----------------------------------------------------------------

// Render once typing pauses, and at least this often while it does not: each render
// reads and cuts the whole note, so a fast typist in a long note must not pay it per key.
const RENDER_PAUSE_MS = 120
const RENDER_MAX_WAIT_MS = 600

/**
 * Keep `target` showing `ytext` rendered, while `isVisible()`.
 *
 * Returns `{refresh, scrollToLine, lineAtTop}`: render now if stale; scroll so
 * that a source line is at the top; which source line is at the top.
 * `onToggleTask(offset)` is called with the offset of a task box's character when
 * an editor clicks it (`canEdit`); without it the boxes stay disabled.
 */
export function attachPreview (target, ytext, { isVisible, canEdit = false, onToggleTask = null }) {
  let blocks = [] // {key, text, start, line, lines, el}
  let timer = null
  let firstChange = 0 // when the oldest change not yet rendered happened
  let stale = true

  const render = () => {
    clearTimeout(timer)
    timer = null
    firstChange = 0
    if (!isVisible()) return
    stale = false
    if (target.hasAttribute('data-first-paint')) {
      // The server's rendering (web/rendering.py), shown until the note is here: swap at once.
      target.removeAttribute('data-first-paint')
      target.replaceChildren()
    }
    blocks = update(target, blocks, ytext.toString(), canEdit)
  }
  ytext.observe(() => {
    stale = true
    const now = performance.now()
    if (firstChange === 0) firstChange = now
    clearTimeout(timer)
    const waited = now - firstChange
    timer = setTimeout(render, Math.max(0, Math.min(RENDER_PAUSE_MS, RENDER_MAX_WAIT_MS - waited)))
  })
  onExtrasLoaded(() => { stale = true; render() }) // blocks with :codes: or math render again
  onFileTokenChanged(() => { stale = true; render() }) // blocks with files, under the new link
  target.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[data-line], a[data-footnote]') : null
    if (link === null) return
    event.preventDefault() // [TOC] entries and footnote marks move within the preview
    if (link.dataset.line !== undefined) scrollToLine(target, blocks, Number(link.dataset.line))
    else {
      const note = [...target.querySelectorAll('[data-footnote-of]')].find((el) => el.dataset.footnoteOf === link.dataset.footnote)
      note?.scrollIntoView({ block: 'center' })
    }
  })
  // An image that fails anyway (gone, refused) says so instead of a broken icon.
  target.addEventListener('error', (event) => {
    const image = event.target
    if (image instanceof HTMLImageElement) image.replaceWith(imageNotice(image, 'it could not be loaded'))
  }, true)
  if (canEdit && onToggleTask) {
    target.addEventListener('click', (event) => {
      const box = event.target
      if (!(box instanceof HTMLInputElement) || box.type !== 'checkbox') return
      event.preventDefault() // the text decides; the re-render shows the result
      const el = box.closest('.md-block')
      const at = blocks.findIndex((b) => b.el === el)
      const index = [...el.querySelectorAll(TASK_BOXES)].indexOf(box)
      // A click may land before the last edit (another tick, say) is rendered: catch up
      // first; ticking changes no block's shape, so the same block and box are found.
      if (stale) render()
      const offset = taskOffset(blocks[at], index)
      if (offset !== null) onToggleTask(offset)
    })
  }
  return {
    refresh: () => { if (stale) render() },
    scrollToLine: (line) => scrollToLine(target, blocks, line),
    lineAtTop: () => lineAtTop(target, blocks)
  }
}

/** A whole text rendered at once, its task boxes shown but not live (a version in the history). */
export function renderReadOnly (text) {
  const { blocks } = splitBlocks(text)
  const shown = blocks[0]?.frontMatter ? text.slice(blocks[0].text.length) : text
  const fragment = withContext(noteContext(text), () => renderMarkdown(shown))
  if (blocks[0]?.frontMatter) fragment.prepend(renderFrontMatter(blocks[0].text))
  labelTaskBoxes(fragment, false)
  return fragment
}

function labelTaskBoxes (root, canEdit) {
  for (const box of root.querySelectorAll(TASK_BOXES)) {
    box.closest('li').classList.add('task') // not li:has(> input): :has() makes every insertion costly
    box.setAttribute('aria-label', 'Done')
    if (canEdit) box.removeAttribute('disabled')
  }
}

function renderBlock (block, links, canEdit) {
  const el = document.createElement('div')
  el.className = 'md-block'
  // Metadata, not text: it names and tags the note, and only its tags are shown.
  if (block.frontMatter) el.append(renderFrontMatter(block.text))
  else el.append(renderMarkdown(block.text, links))
  labelTaskBoxes(el, canEdit)
  return el
}

/** Bring the DOM from `old` blocks to those of `text`, re-rendering only what changed. */
function update (target, old, text, canEdit) {
  const { blocks, references } = splitBlocks(text)
  const context = noteContext(text)
  const extras = `\u0000${extrasState()}`
  for (const block of blocks) {
    const shared = contextKey(block.text, context) // what of the whole note it shows
    block.key = `${block.frontMatter ? 'front' : ''}\u0000${references}\u0000${block.text}\u0000${shared}` +
      (USES_EXTRAS.test(block.text) || USES_EXTRAS.test(shared) ? extras : '') +
      (namesFiles(block.text) || namesFiles(references) ? `\u0000${fileToken()}` : '')
  }
  let links // lexed once per render, and only when a block needs rendering
  let head = 0
  while (head < old.length && head < blocks.length && old[head].key === blocks[head].key) head++
  let tail = 0
  while (tail < old.length - head && tail < blocks.length - head &&
         old[old.length - 1 - tail].key === blocks[blocks.length - 1 - tail].key) tail++
  const reusable = new Map()
  for (const block of old.slice(head, old.length - tail)) {
    reusable.set(block.key, block.el)
    block.el.remove()
  }
  const anchor = tail > 0 ? old[old.length - tail].el : null
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i]
    if (i < head) block.el = old[i].el
    else if (i >= blocks.length - tail) block.el = old[old.length - (blocks.length - i)].el
    else {
      let el = reusable.get(block.key)
      if (el === undefined) {
        if (links === undefined) links = referenceLinks(references)
        el = withContext(context, () => renderBlock(block, links, canEdit))
      }
      block.el = el
      reusable.delete(block.key)
      target.insertBefore(block.el, anchor)
    }
  }
  return blocks
}

/** The offset in the note of the character in the `index`-th task box of `block`. */
function taskOffset (block, index) {
  if (!block || index < 0) return null
  const boxes = taskBoxes(block.text)
  return index < boxes.length ? block.start + boxes[index] : null
}

// -- scroll sync ----------------------------------------------------------------------

function blockAtLine (blocks, line) {
  let low = 0
  let high = blocks.length - 1
  while (low < high) {
    const mid = (low + high + 1) >> 1
    if (blocks[mid].line <= line) low = mid
    else high = mid - 1
  }
  return blocks[low]
}

function scrollToLine (target, blocks, line) {
  if (blocks.length === 0) return
  const block = blockAtLine(blocks, Math.floor(line))
  const within = Math.min(1, Math.max(0, (line - block.line) / Math.max(1, block.lines)))
  target.scrollTop = block.el.offsetTop + within * block.el.offsetHeight - 16
}

function lineAtTop (target, blocks) {
  const top = target.scrollTop + 16
  let low = 0
  let high = blocks.length - 1
  if (high < 0) return 0
  while (low < high) {
    const mid = (low + high + 1) >> 1
    if (blocks[mid].el.offsetTop <= top) low = mid
    else high = mid - 1
  }
  const block = blocks[low]
  const within = Math.min(1, Math.max(0, (top - block.el.offsetTop) / Math.max(1, block.el.offsetHeight)))
  return block.line + within * block.lines
}
