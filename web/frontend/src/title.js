// A note's title, by the same rule as the server's collab.document.title_of.

const MAX_TITLE_CHARS = 200
// The line boundaries of Python's str.splitlines().
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/

/** The first non-empty line, without Markdown heading marks. */
export function titleOf (text) {
  for (const line of text.split(LINE_BREAKS)) {
    const title = line.trim().replace(/^#+/, '').trim()
    if (title) return [...title].slice(0, MAX_TITLE_CHARS).join('')
  }
  return ''
}

export const pageTitle = (title) => `${title || 'Untitled note'} · collab-notes`
