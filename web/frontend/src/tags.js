// Tags in the preview, as the server finds them for a space's list
// (storage/summaries.py): every `#word` outside code, after a space, a bracket, a
// comma or a semicolon (or at the start), not digits alone ("#12" is an issue
// number); and the `tags:` of a YAML front matter, HedgeDoc's convention. The
// front matter itself is not shown (blocks.js, title.js): its tags are, as a row
// above the note.
// Tags are drawn after the note's HTML is sanitised, by this code alone: a note's
// own `class="note-tag"` never survives the sanitiser, so a tag is always a tag.

const TAG = /(?<![^\s(\[{,;])#([\p{L}\p{N}_][\p{L}\p{N}_/-]*)/gu
const DIGITS = /^\p{Nd}+$/u

function tagElement (text, tag) {
  const span = document.createElement('span')
  span.className = 'note-tag'
  span.dataset.tag = tag
  span.textContent = text
  return span
}

/** `node`'s text with its tags in spans; `before` is the character before it, or ' '. */
function wrapTags (node, before) {
  const text = node.data
  const parts = []
  let at = 0
  for (const match of (before + text).matchAll(TAG)) {
    const word = match[1].replace(/[/-]+$/, '')
    if (DIGITS.test(word)) continue
    const start = match.index - 1 // in `text`: the character before it was prepended
    if (start > at) parts.push(text.slice(at, start))
    parts.push(tagElement(text.slice(start, start + 1 + word.length), word.toLowerCase()))
    at = start + 1 + word.length
  }
  if (parts.length === 0) return
  if (at < text.length) parts.push(text.slice(at))
  node.replaceWith(...parts)
}

/** Draw the `#word` tags of a sanitised `root` (outside code) as tags. */
export function markTags (root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
  const found = []
  let before = ' '
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    if (node.parentElement?.closest('code, pre')) {
      before = ' ' // the server reads inline code as a space
      continue
    }
    if (node.data.includes('#')) found.push([node, before])
    if (node.data) before = node.data[node.data.length - 1]
  }
  for (const [node, previous] of found) wrapTags(node, previous)
}

const unquote = (value) => /^(['"]).*\1$/.test(value) && value.length >= 2 ? value.slice(1, -1) : value

/** The tags of a front matter's text: `tags: [a, b]`, `tags: a, b`, or a block list. */
export function frontMatterTags (text) {
  const lines = text.split('\n').slice(1, -1)
  let value = null
  const block = []
  let inTags = false
  for (const line of lines) {
    const item = line.trim()
    if (inTags && item.startsWith('- ')) {
      block.push(item.slice(2))
      continue
    }
    const colon = line.indexOf(':')
    const key = colon > 0 && !/^\s/.test(line) ? line.slice(0, colon).trim().toLowerCase() : null
    inTags = key === 'tags'
    if (inTags) value = line.slice(colon + 1).trim()
  }
  if (!value && block.length) value = block.join(',')
  if (!value) return []
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1)
  const tags = value.split(',')
    .map((part) => unquote(part.trim()).replace(/^#+/, '').trim().replace(/[/-]+$/, '').toLowerCase())
    .filter(Boolean)
  return [...new Set(tags)]
}

/** A front matter as the preview shows it: its tags, in a row (nothing else of it). */
export function renderFrontMatter (text) {
  const row = document.createElement('p')
  row.className = 'front-matter-tags'
  const tags = frontMatterTags(text)
  row.hidden = tags.length === 0
  for (const tag of tags) row.append(tagElement(`#${tag}`, tag), ' ')
  return row
}
