// A note's title, by the same rule as the server's collab.document.title_of: the
// front matter's `title:` (collab/frontmatter.py), else the first non-empty line
// after the front matter, without Markdown heading marks.

const MAX_TITLE_CHARS = 200
const FRONT_MATTER_MAX_LINES = 100
// The line boundaries of Python's str.splitlines().
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/
const clip = (title) => [...title].slice(0, MAX_TITLE_CHARS).join('')

/**
 * The front matter of `text`: `{end, title}` (`end`: the offset just after its
 * closing line), or null when the note has none. Only `title:` is read.
 */
export function frontMatter (text) {
  if (!text.startsWith('---')) return null
  let start = 0
  let title = ''
  for (let i = 0; i <= FRONT_MATTER_MAX_LINES; i++) {
    const newline = text.indexOf('\n', start)
    const end = newline < 0 ? text.length : newline
    const line = text.slice(start, end)
    if (i === 0) {
      if (line.trim() !== '---') return null
    } else if (line.trim() === '---' || line.trim() === '...') {
      return { end: newline < 0 ? text.length : newline + 1, title }
    } else if (/^title\s*:/i.test(line)) {
      title = cleanValue(line.slice(line.indexOf(':') + 1))
    }
    if (newline < 0) return null
    start = newline + 1
  }
  return null
}

function cleanValue (value) {
  value = value.trim()
  if (value.length >= 2 && value[0] === value[value.length - 1] && (value[0] === '"' || value[0] === "'")) {
    value = value.slice(1, -1)
  }
  return value.split(/\s+/).filter(Boolean).join(' ')
}

/** The front matter's title, else the first non-empty line after it, without heading marks. */
export function titleOf (text) {
  const front = frontMatter(text)
  if (front?.title) return clip(front.title)
  // Line by line from the start: a long note is never split whole.
  const breaks = new RegExp(LINE_BREAKS.source, 'g')
  let start = front ? front.end : 0
  breaks.lastIndex = start
  while (start <= text.length) {
    const found = breaks.exec(text)
    const end = found ? found.index : text.length
    const title = text.slice(start, end).trim().replace(/^#+/, '').trim()
    if (title) return clip(title)
    if (!found) break
    start = breaks.lastIndex
  }
  return ''
}

export const pageTitle = (title) => `${title || 'Untitled note'} · collab-notes`
