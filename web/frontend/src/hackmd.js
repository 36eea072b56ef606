// Markdown as HackMD and HedgeDoc write it, on top of marked's GFM, so that an
// imported note reads as it did there: $math$ and $$ blocks, ==mark==, ^sup^, H~2~O, :emoji:,
// :::info / :::warning / :::success / :::danger / :::spoiler containers,
// footnotes ([^1] and [^1]: ...) and [TOC]. The front matter is metadata: the
// preview hides it (blocks.js keeps it a block of its own) and title.js names
// the note from it.
//
// What these give is HTML that preview.js sanitises like the rest. Footnote
// numbers and the table of contents depend on the whole note, while the preview
// renders block by block: `noteContext(text)` reads them once per render, and a
// block that uses them carries them in its key (`contextKey`), so it is
// rendered again when they change and only then.

import { loadFile } from './lazyfiles.js'

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const CONTAINERS = new Set(['info', 'warning', 'success', 'danger', 'spoiler'])
const FENCE = /^\s*(`{3,}|~{3,})/
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/
const FOOTNOTE_REF = /\[\^([^\]\s]+)\](?!:)/g
const TOC_LINE = /^[ \t]*\[TOC\][ \t]*$/im

// -- the whole note's part --------------------------------------------------------------

let context = { footnotes: new Map(), headings: [] }

/** Footnote numbers (by first reference) and the headings, of the whole note. */
export function noteContext (text) {
  const footnotes = new Map()
  if (text.includes('[^')) {
    for (const match of text.matchAll(FOOTNOTE_REF)) {
      if (!footnotes.has(match[1])) footnotes.set(match[1], footnotes.size + 1)
    }
  }
  return { footnotes, headings: TOC_LINE.test(text) ? headingsOf(text) : [] }
}

function headingsOf (text) {
  const headings = []
  let fence = null
  text.split('\n').forEach((line, index) => {
    const marker = FENCE.exec(line)
    if (fence !== null) {
      if (marker && marker[1][0] === fence[0] && marker[1].length >= fence.length) fence = null
      return
    }
    if (marker) {
      fence = marker[1]
      return
    }
    const heading = HEADING.exec(line)
    if (heading && heading[2]) {
      headings.push({ level: heading[1].length, text: plainText(heading[2]), line: index })
    }
  })
  return headings
}

const plainText = (markdown) => markdown.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[*_`~=^]+/g, '')

/** What of the note's context a block's rendering depends on ('' for most blocks). */
export function contextKey (blockText, ctx) {
  let key = ''
  if (ctx.footnotes.size > 0 && blockText.includes('[^')) key += JSON.stringify([...ctx.footnotes])
  if (TOC_LINE.test(blockText)) key += JSON.stringify(ctx.headings)
  return key
}

/** Render with `ctx` as the note's context (footnote numbers, headings). */
export function withContext (ctx, render) {
  const before = context
  context = ctx
  try {
    return render()
  } finally {
    context = before
  }
}

// -- what a note loads only when it uses it: the emoji table, KaTeX -------------------

// Loaded by lazyfiles.js: [the page's data key of its address, the global it sets].
const LAZY = { emoji: ['emojiSrc', 'collabNotesEmoji'], katex: ['katexSrc', 'collabNotesKatex'] }
const loaded = {} // name -> what the file set on window, once loaded
const loading = {}
const lazyListeners = new Set()

/** Call `listener` once a file a note needed has loaded (to render again what used it). */
export function onExtrasLoaded (listener) {
  lazyListeners.add(listener)
  return () => lazyListeners.delete(listener)
}

/** Which of the files have loaded, as a string that changes when one does. */
export const extrasState = () => Object.keys(loaded).sort().join(',')

function load (name) {
  if (loading[name]) return
  loading[name] = true
  loadFile(...LAZY[name]).then((value) => {
    loaded[name] = value ?? {}
    for (const listener of lazyListeners) listener()
  }, () => { loading[name] = false }) // shown as typed; tried again on the next render
}

const emojiTable = () => loaded.emoji ?? null

/** `text` with the :codes: the table knows (once loaded) as their emoji. */
const withEmoji = (text) => {
  const emoji = emojiTable()
  return emoji === null ? text : text.replace(/:([a-z0-9_+-]+):/g, (code, name) => Object.hasOwn(emoji, name) ? emoji[name] : code)
}

/** Where an extension may start in `src`, for marked (`undefined`: nowhere). */
const startAt = (at) => at < 0 ? undefined : at

// -- marked extensions ------------------------------------------------------------------

const inline = (name, start, pattern, render, children = true) => ({
  name,
  level: 'inline',
  start: (src) => startAt(src.indexOf(start)),
  tokenizer (src) {
    const match = pattern.exec(src)
    if (!match) return undefined
    const token = { type: name, raw: match[0], text: match[1] }
    if (children) token.tokens = this.lexer.inlineTokens(match[1])
    return token
  },
  renderer (token) {
    return render(children ? this.parser.parseInline(token.tokens) : token.text, token)
  }
})

const mark = inline('mark', '==', /^==(?=\S)([^\n]*?\S)==(?!=)/, (html) => `<mark>${html}</mark>`)
const sup = inline('sup', '^', /^\^((?:\\.|[^\s^\\])+)\^/, (html) => `<sup>${html}</sup>`)
// Single tildes: a subscript (H~2~O), as in HackMD; ~~two~~ stay struck through.
const sub = inline('sub', '~', /^~(?!~)((?:\\.|[^\s~\\])+)~(?!~)/, (html) => `<sub>${html}</sub>`)

const emojiCode = {
  name: 'emoji',
  level: 'inline',
  start: (src) => startAt(src.search(/:[a-z0-9_+-]+:/)),
  tokenizer (src) {
    const match = /^:([a-z0-9_+-]+):/.exec(src)
    if (!match) return undefined
    const emoji = emojiTable()
    if (emoji === null) {
      load('emoji')
      return undefined
    }
    const found = Object.hasOwn(emoji, match[1]) ? emoji[match[1]] : null
    return found ? { type: 'emoji', raw: match[0], text: found, code: match[1] } : undefined
  },
  renderer: (token) => `<span role="img" aria-label="${escapeHtml(token.code)}">${escapeHtml(token.text)}</span>`
}

const footnoteRef = {
  name: 'footnoteRef',
  level: 'inline',
  start: (src) => startAt(src.indexOf('[^')),
  tokenizer (src) {
    const match = /^\[\^([^\]\s]+)\](?!:)/.exec(src)
    return match ? { type: 'footnoteRef', raw: match[0], label: match[1] } : undefined
  },
  renderer (token) {
    const number = context.footnotes.get(token.label) ?? token.label
    return `<sup class="footnote-ref"><a href="#" data-footnote="${escapeHtml(token.label)}">[${escapeHtml(String(number))}]</a></sup>`
  }
}

const footnote = {
  name: 'footnote',
  level: 'block',
  start: (src) => startAt(src.search(/^\[\^[^\]\s]+\]:/m)),
  tokenizer (src) {
    // The definition's first line, and the lines indented under it.
    const match = /^\[\^([^\]\s]+)\]:[ \t]*([^\n]*(?:\n(?: {2,}|\t)[^\n]*)*)(?:\n|$)/.exec(src)
    if (!match) return undefined
    return { type: 'footnote', raw: match[0], label: match[1], tokens: this.lexer.inlineTokens(match[2].trim()) }
  },
  renderer (token) {
    const number = context.footnotes.get(token.label) ?? token.label
    return `<div class="footnote" data-footnote-of="${escapeHtml(token.label)}">` +
      `<span class="footnote-label">${escapeHtml(String(number))}.</span> ${this.parser.parseInline(token.tokens)}</div>`
  }
}

const container = {
  name: 'container',
  level: 'block',
  start: (src) => startAt(src.search(/^:::/m)),
  tokenizer (src) {
    const match = /^:::[ \t]*(\w+)[ \t]*([^\n]*)\n([\s\S]*?)\n?^:::[ \t]*(?:\n|$)/m.exec(src)
    if (!match || !CONTAINERS.has(match[1].toLowerCase())) return undefined
    return {
      type: 'container',
      raw: match[0],
      kind: match[1].toLowerCase(),
      title: match[2].trim(),
      tokens: this.lexer.blockTokens(match[3], [])
    }
  },
  renderer (token) {
    const inner = this.parser.parse(token.tokens)
    if (token.kind === 'spoiler') {
      return `<details><summary>${escapeHtml(token.title || 'Spoiler')}</summary>${inner}</details>`
    }
    return `<div class="alert alert-${token.kind}">${inner}</div>`
  }
}

const toc = {
  name: 'toc',
  level: 'block',
  start: (src) => startAt(src.search(/^[ \t]*\[TOC\]/im)),
  tokenizer (src) {
    const match = /^[ \t]*\[TOC\][ \t]*(?:\n|$)/i.exec(src)
    return match ? { type: 'toc', raw: match[0] } : undefined
  },
  renderer () {
    const items = context.headings.map((h) =>
      `<li class="toc-${h.level}"><a href="#" data-line="${h.line}">${escapeHtml(withEmoji(h.text))}</a></li>`)
    return `<nav class="toc" aria-label="Contents"><ul>${items.join('')}</ul></nav>`
  }
}

// Math, as HackMD writes it: $...$ inline (no space inside the dollars, none right
// after a closing one followed by a digit: "$5 and $6" stays text) and $$ ... $$
// blocks. The TeX is kept in data-tex and typeset after sanitising (renderMath).
const mathInline = {
  name: 'mathInline',
  level: 'inline',
  start: (src) => startAt(src.indexOf('$')),
  tokenizer (src) {
    const match = /^\$(?![\s$])((?:\\.|[^$\\\n])+?)(?<!\s)\$(?!\d)/.exec(src)
    return match ? { type: 'mathInline', raw: match[0], tex: match[1] } : undefined
  },
  renderer: (token) => `<span class="math" data-tex="${escapeHtml(token.tex)}">${escapeHtml(token.raw)}</span>`
}

const mathBlock = {
  name: 'mathBlock',
  level: 'block',
  start: (src) => startAt(src.search(/^ {0,3}\$\$/m)),
  tokenizer (src) {
    const match = /^ {0,3}\$\$([\s\S]+?)\$\$[ \t]*(?:\n|$)/.exec(src)
    return match ? { type: 'mathBlock', raw: match[0], tex: match[1].trim() } : undefined
  },
  renderer: (token) =>
    `<div class="math math-display" data-tex="${escapeHtml(token.tex)}">${escapeHtml(token.raw.trim())}</div>`
}

/**
 * Typeset the math of a sanitised fragment with KaTeX (loaded on first use), as
 * MathML that the browser draws: KaTeX's own HTML output would need its fonts
 * and style sheet. An error shows in place, in KaTeX's words.
 */
export function renderMath (root) {
  const maths = root.querySelectorAll('.math[data-tex]')
  if (maths.length === 0) return
  if (!loaded.katex) {
    // Typeset these once KaTeX is here, wherever they are by then (the history's
    // view renders once; the live preview renders its blocks again anyway).
    waitingMath.push(...maths)
    load('katex')
    return
  }
  typeset(maths)
}

const waitingMath = []
onExtrasLoaded(() => {
  if (loaded.katex && waitingMath.length > 0) typeset(waitingMath.splice(0).filter((el) => el.isConnected))
})

function typeset (maths) {
  const katex = loaded.katex
  for (const el of maths) {
    const display = el.classList.contains('math-display')
    try {
      katex.render(el.dataset.tex, el, { displayMode: display, output: 'mathml', throwOnError: true, trust: false, strict: 'ignore' })
    } catch (error) {
      el.classList.add('math-error')
      el.textContent = `${el.dataset.tex} (${error instanceof Error ? error.message : error})`
    }
  }
}

/** The extensions, for `marked.use({extensions})`. */
export const EXTENSIONS = [container, toc, footnote, mathBlock, mark, sup, sub, mathInline, emojiCode, footnoteRef]

/** The classes these extensions give (preview.js keeps them; a note's own others go). */
export const HACKMD_CLASS = /^(?:alert|alert-(?:info|warning|success|danger)|footnote|footnote-ref|footnote-label|toc|toc-[1-6]|math|math-display)$/
