// Editing commands for Markdown: bold, italic and link around the selection, and
// Tab / Shift-Tab that nest list items the way CommonMark reads them.

import { indentLess, indentMore } from '@codemirror/commands'
import { EditorSelection } from '@codemirror/state'

/** Toggle `mark` (e.g. `**`) around each selection. */
export const toggleMark = (mark) => (view) => {
  const { state } = view
  const size = mark.length
  view.dispatch(state.changeByRange((range) => {
    const { from, to } = range
    const around = state.sliceDoc(from - size, from) === mark && state.sliceDoc(to, to + size) === mark
    if (around) {
      return {
        changes: [{ from: from - size, to: from }, { from: to, to: to + size }],
        range: EditorSelection.range(from - size, to - size)
      }
    }
    const text = state.sliceDoc(from, to)
    if (text.length >= 2 * size && text.startsWith(mark) && text.endsWith(mark)) {
      return {
        changes: [{ from, to: from + size }, { from: to - size, to }],
        range: EditorSelection.range(from, to - 2 * size)
      }
    }
    return {
      changes: [{ from, insert: mark }, { from: to, insert: mark }],
      range: EditorSelection.range(from + size, to + size)
    }
  }), { userEvent: 'input.format', scrollIntoView: true })
  return true
}

const LOOKS_LIKE_URL = /^(https?:\/\/|mailto:)\S+$/i

/** Make each selection a link: its text becomes the label, or the address if it is one. */
export function insertLink (view) {
  const { state } = view
  view.dispatch(state.changeByRange((range) => {
    const text = state.sliceDoc(range.from, range.to)
    if (LOOKS_LIKE_URL.test(text)) {
      const insert = `[](${text})`
      return { changes: { from: range.from, to: range.to, insert }, range: EditorSelection.cursor(range.from + 1) }
    }
    const label = text || 'link text'
    const insert = `[${label}](https://)`
    const url = range.from + label.length + 3
    return {
      changes: { from: range.from, to: range.to, insert },
      // With text selected, the address is next; with none, the label to type over.
      range: text ? EditorSelection.range(url, url + 8) : EditorSelection.range(range.from + 1, range.from + 1 + label.length)
    }
  }), { userEvent: 'input.format', scrollIntoView: true })
  return true
}

// -- list items -----------------------------------------------------------------------

const LIST_ITEM = /^([ \t]*)([-+*]|\d{1,9}[.)])([ \t]+)/

function listItem (line) {
  const match = LIST_ITEM.exec(line.text)
  if (!match) return null
  return { indent: match[1].length, content: match[0].length }
}

/** The lines touched by the selection, each once. */
function selectedLines (state) {
  const lines = new Map()
  for (const range of state.selection.ranges) {
    for (let pos = range.from; pos <= range.to;) {
      const line = state.doc.lineAt(pos)
      lines.set(line.number, line)
      pos = line.to + 1
    }
  }
  return [...lines.values()]
}

/** The nearest list item above `line` with an indentation satisfying `accept`. */
function itemAbove (state, line, accept) {
  for (let n = line.number - 1; n >= 1; n--) {
    const above = state.doc.line(n)
    if (above.text.trim() === '') continue
    const item = listItem(above)
    if (item === null) {
      if (!/^[ \t]/.test(above.text)) return null // the list ended
      continue
    }
    if (accept(item.indent)) return item
  }
  return null
}

function reindent (view, target) {
  const { state } = view
  const lines = selectedLines(state)
  if (!lines.some((line) => listItem(line) !== null)) return false
  const changes = []
  for (const line of lines) {
    const item = listItem(line)
    if (item === null) continue
    const width = target(state, line, item)
    if (width === item.indent) continue
    changes.push({ from: line.from, to: line.from + item.indent, insert: ' '.repeat(width) })
  }
  view.dispatch({ changes, userEvent: 'input.indent', scrollIntoView: true })
  return true
}

/** Tab: nest list items under the item above (at its text's column); indent anything else. */
export function indentListOrMore (view) {
  return reindent(view, (state, line, item) => {
    const sibling = itemAbove(state, line, (indent) => indent <= item.indent)
    if (sibling === null || sibling.indent < item.indent) return item.indent // nothing to nest under
    return sibling.content
  }) || indentMore(view)
}

/** Shift-Tab: move list items out to their parent's level; outdent anything else. */
export function outdentListOrLess (view) {
  return reindent(view, (state, line, item) => {
    const parent = itemAbove(state, line, (indent) => indent < item.indent)
    return parent === null ? 0 : parent.indent
  }) || indentLess(view)
}
