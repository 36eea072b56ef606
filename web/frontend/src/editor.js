// The CodeMirror 6 editor, bound to the note's Y.Text by y-codemirror.next.

import { defaultKeymap } from '@codemirror/commands'
import { markdownKeymap, markdownLanguage } from '@codemirror/lang-markdown'
import { HighlightStyle, LanguageSupport, syntaxHighlighting } from '@codemirror/language'
import { Compartment, EditorState, Prec } from '@codemirror/state'
import { EditorView, drawSelection, keymap, placeholder } from '@codemirror/view'
import { tags } from '@lezer/highlight'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'

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

const lock = (readOnly) => [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]

/**
 * Create the editor in `parent`.
 *
 * A viewer's editor is read-only twice over: the state refuses changes and the
 * content is not editable; the server refuses a viewer's edits in any case.
 */
export function createEditor (parent, { ytext, awareness, readOnly, styleNonce }) {
  const undoManager = new Y.UndoManager(ytext)
  const locking = new Compartment()
  const extensions = [
    new LanguageSupport(markdownLanguage),
    syntaxHighlighting(highlighting),
    EditorView.lineWrapping,
    drawSelection(),
    Prec.high(keymap.of(markdownKeymap)),
    keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
    yCollab(ytext, awareness, { undoManager }),
    EditorView.contentAttributes.of({ 'aria-label': 'Note text (Markdown)' }),
    locking.of(lock(readOnly)),
    placeholder(readOnly ? 'This note is empty.' : 'Start writing. Markdown works: # Title, **bold**, - lists…')
  ]
  if (styleNonce) extensions.push(EditorView.cspNonce.of(styleNonce))
  const state = EditorState.create({ doc: ytext.toString(), extensions })
  const view = new EditorView({ state, parent })
  return {
    view,
    /** Stop (or allow) editing, e.g. once this page's link no longer works. */
    setReadOnly (readOnly) {
      view.dispatch({ effects: locking.reconfigure(lock(readOnly)) })
    }
  }
}
