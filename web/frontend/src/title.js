// A note's title, by the same rule as the server's collab.document.title_of.

const MAX_TITLE_CHARS = 200
// The line boundaries of Python's str.splitlines().
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/

/** The first non-empty line, without Markdown heading marks. */
export function titleOf (text) {
  // Line by line from the start: a long note is never split whole.
  const breaks = new RegExp(LINE_BREAKS.source, 'g')
  let start = 0
  while (start <= text.length) {
    const found = breaks.exec(text)
    const end = found ? found.index : text.length
    const title = text.slice(start, end).trim().replace(/^#+/, '').trim()
    if (title) return [...title].slice(0, MAX_TITLE_CHARS).join('')
    if (!found) break
    start = breaks.lastIndex
  }
  return ''
}

export const pageTitle = (title) => `${title || 'Untitled note'} · collab-notes`
