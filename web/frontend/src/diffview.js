// Two texts compared with @codemirror/merge, read-only: inline (one editor, the
// removed lines struck through above what replaced them) or side by side.
// Removed text is struck through and added text underlined, so the colours are
// never the only sign (they are set in style.css, for both themes).

import { MergeView, unifiedMergeView } from '@codemirror/merge'
import { EditorState } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { markdownLook } from './editor.js'

const DARK = window.matchMedia('(prefers-color-scheme: dark)')
// A long note with many scattered changes falls back to a coarser diff rather than
// keeping the page busy: the merge package's own guards, given explicitly.
const DIFF_CONFIG = { scanLimit: 500, timeout: 200 }
const COLLAPSED = { margin: 2, minSize: 5 }

function readOnlyEditor (label, styleNonce) {
  const extensions = [
    EditorState.readOnly.of(true),
    EditorView.editable.of(false),
    EditorView.lineWrapping,
    markdownLook(),
    EditorView.darkTheme.of(DARK.matches),
    EditorView.contentAttributes.of({ 'aria-label': label })
  ]
  if (styleNonce) extensions.push(EditorView.cspNonce.of(styleNonce))
  return extensions
}

/**
 * Show in `parent` how `older` became `newer`.
 *
 * @param {HTMLElement} parent emptied first
 * @param {object} options
 * @param {string} options.older
 * @param {string} options.newer
 * @param {'inline'|'split'} options.layout
 * @param {boolean} options.unchanged show unchanged lines too (else long runs are folded)
 * @param {{older: string, newer: string}} options.labels what each text is, for screen readers
 * @param {string} [options.styleNonce] the page's CSP nonce for CodeMirror's styles
 * @returns {{destroy: () => void}}
 */
export function showDiff (parent, { older, newer, layout, unchanged, labels, styleNonce }) {
  parent.replaceChildren()
  const collapseUnchanged = unchanged ? undefined : COLLAPSED
  if (layout === 'split') {
    const view = new MergeView({
      a: { doc: older, extensions: readOnlyEditor(labels.older, styleNonce) },
      b: { doc: newer, extensions: readOnlyEditor(labels.newer, styleNonce) },
      parent,
      collapseUnchanged,
      diffConfig: DIFF_CONFIG
    })
    return { destroy: () => view.destroy() }
  }
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: newer,
      extensions: [
        readOnlyEditor(`${labels.newer}, with what ${labels.older} had struck through`, styleNonce),
        unifiedMergeView({
          original: older,
          mergeControls: false,
          allowInlineDiffs: true,
          collapseUnchanged,
          diffConfig: DIFF_CONFIG
        })
      ]
    })
  })
  return { destroy: () => view.destroy() }
}
