// The CodeMirror 6 editor, bound to the note's Y.Text by y-codemirror.next.

import { defaultKeymap } from '@codemirror/commands'
import { markdownKeymap, markdownLanguage } from '@codemirror/lang-markdown'
import { HighlightStyle, LanguageSupport, syntaxHighlighting } from '@codemirror/language'
import { search, searchKeymap } from '@codemirror/search'
import { Compartment, EditorState, Prec } from '@codemirror/state'
import { EditorView, drawSelection, keymap, placeholder } from '@codemirror/view'
import { tags } from '@lezer/highlight'
import { yCollab, yRemoteSelectionsTheme, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'
import { remoteCarets } from './carets.js'
import { indentListOrMore, insertLink, outdentListOrLess, toggleMark } from './formatting.js'
import { isAway } from './presence.js'

const highlighting = HighlightStyle.define([
  { tag: tags.heading1, class: 'tok-h tok-h1' },
  { tag: tags.heading2, class: 'tok-h tok-h2' },
  { tag: [tags.heading3, tags.heading4, tags.heading5, tags.heading6], class: 'tok-h' },
  { tag: tags.emphasis, class: 'tok-em' },
  { tag: tags.strong, class: 'tok-strong' },
  { tag: tags.strikethrough, class: 'tok-strike' },
  { tag: [tags.link, tags.url], class: 'tok-link' },
  { tag: tags.monospace, class: 'tok-code' },
  { tag: tags.quote, class: 'tok-quote' },
  { tag: [tags.processingInstruction, tags.meta, tags.contentSeparator], class: 'tok-mark' }
])

// Esc then Tab still leaves the editor: CodeMirror lets the next Tab through after Escape.
const editingKeys = [
  { key: 'Mod-b', run: toggleMark('**') },
  { key: 'Mod-i', run: toggleMark('*') },
  { key: 'Mod-k', run: insertLink },
  { key: 'Tab', run: indentListOrMore, shift: outdentListOrLess }
]

const TEXT_FILE = /\.(md|markdown|mdown|txt)$/i

/** Where a dropped file's text goes: after the line it was dropped on, as a block of its own. */
function blockInsertion (doc, pos, text) {
  const line = doc.lineAt(pos)
  const body = text.replace(/\s+$/, '')
  const prevFilled = line.number > 1 && doc.line(line.number - 1).length > 0
  const before = line.length > 0 ? '\n\n' : (prevFilled ? '\n' : '')
  const hasNext = line.number < doc.lines
  // The line's own break follows the insertion: one more makes the blank line after.
  const after = !hasNext || doc.line(line.number + 1).length > 0 ? '\n' : ''
  return { from: line.to, insert: before + body + after }
}

// CodeMirror inserts a dropped file's text at the drop point, glued into that line.
const dropFiles = EditorView.domEventHandlers({
  drop (event, view) {
    const files = [...(event.dataTransfer?.files ?? [])].filter((f) => TEXT_FILE.test(f.name) || f.type.startsWith('text/'))
    if (files.length === 0 || view.state.readOnly) return false
    event.preventDefault()
    const pos = view.posAtCoords({ x: event.clientX, y: event.clientY }) ?? view.state.doc.length
    Promise.all(files.map((file) => file.text())).then((texts) => {
      const change = blockInsertion(view.state.doc, Math.min(pos, view.state.doc.length), texts.join('\n\n'))
      const end = change.from + change.insert.length
      view.dispatch({ changes: change, selection: { anchor: end }, userEvent: 'input.drop', scrollIntoView: true })
      view.focus()
    })
    return true
  }
})

/** Markdown's syntax, coloured as the editor colours it (also in the history's comparisons). */
export const markdownLook = () => [new LanguageSupport(markdownLanguage), syntaxHighlighting(highlighting)]

const lock = (readOnly) => [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]
const DARK = window.matchMedia('(prefers-color-scheme: dark)')

/**
 * Create the editor in `parent`.
 *
 * A viewer's editor is read-only twice over: the state refuses changes and the
 * content is not editable; the server refuses a viewer's edits in any case.
 */
export function createEditor (parent, { ytext, awareness, readOnly, styleNonce, onScroll, extra = [] }) {
  const undoManager = new Y.UndoManager(ytext)
  const locking = new Compartment()
  const theme = new Compartment()
  const extensions = [
    markdownLook(),
    EditorView.lineWrapping,
    drawSelection(),
    search({ top: true }),
    Prec.highest(keymap.of(editingKeys)),
    Prec.high(keymap.of(markdownKeymap)),
    keymap.of([...yUndoManagerKeymap, ...searchKeymap, ...defaultKeymap]),
    // Without the awareness, yCollab leaves out its remote selections: carets.js draws them.
    yCollab(ytext, null, { undoManager }),
    yRemoteSelectionsTheme,
    remoteCarets(ytext, awareness, (id) => isAway(awareness, id)),
    // tabindex: a read-only content is not editable, and its scroller must still take
    // the keyboard (axe: scrollable-region-focusable, on any note longer than the pane).
    EditorView.contentAttributes.of({ 'aria-label': 'Note text (Markdown)', tabindex: '0' }),
    locking.of(lock(readOnly)),
    dropFiles,
    theme.of(EditorView.darkTheme.of(DARK.matches)),
    placeholder(readOnly ? 'This note is empty.' : 'Start writing. Markdown works: # Title, **bold**, - lists…')
  ]
  if (styleNonce) extensions.push(EditorView.cspNonce.of(styleNonce))
  extensions.push(...extra)
  const state = EditorState.create({ doc: ytext.toString(), extensions })
  const view = new EditorView({ state, parent })
  DARK.addEventListener('change', () => {
    view.dispatch({ effects: theme.reconfigure(EditorView.darkTheme.of(DARK.matches)) })
  })
  if (onScroll) view.scrollDOM.addEventListener('scroll', onScroll, { passive: true })
  return {
    view,
    /** Stop (or allow) editing, e.g. once this page's link no longer works. */
    setReadOnly (readOnly) {
      view.dispatch({ effects: locking.reconfigure(lock(readOnly)) })
    },
    /** The source line (from 0, with a fraction) at the top of the visible text. */
    lineAtTop () {
      const top = view.scrollDOM.getBoundingClientRect().top - view.documentTop
      const block = view.lineBlockAtHeight(Math.max(0, top))
      const line = view.state.doc.lineAt(block.from).number - 1
      return line + Math.min(1, Math.max(0, (top - block.top) / Math.max(1, block.height)))
    },
    /** Select `from`..`to` and scroll it to the middle of the view. */
    select (from, to) {
      view.dispatch({ selection: { anchor: from, head: to }, effects: EditorView.scrollIntoView(from, { y: 'center' }) })
    },
    /** Scroll so that a source line (from 0) is at the top. */
    scrollToLine (line) {
      const doc = view.state.doc
      const number = Math.min(doc.lines, Math.max(1, Math.round(line) + 1))
      // CodeMirror's own scrolling: lines far away have estimated heights until measured.
      view.dispatch({ effects: EditorView.scrollIntoView(doc.line(number).from, { y: 'start', yMargin: 0 }) })
    }
  }
}
