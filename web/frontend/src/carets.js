// Other people's carets and selections in the editor, and this tab's own caret
// published for them (the `cursor` field of y-codemirror.next, so stock clients
// and this page understand each other).
//
// Ours rather than y-codemirror.next's remote selections, for three things it did
// not do: a caret's label follows a rename (its widget compared colours only, so a
// renamed person kept their arrival name until a reload); a caret is published only
// once its owner placed it (a click, a tap, a key): a page focuses its editor on
// opening, and everyone who never clicked sat on line 1, over the title, stacked;
// and the caret of someone silent for a while (`isAway`) is dimmed.

import { RangeSet } from '@codemirror/state'
import { Decoration, EditorView, ViewPlugin, WidgetType } from '@codemirror/view'
import * as Y from 'yjs'

// How often to look for someone going quiet (or coming back): a cheap check.
const AWAY_CHECK_MS = 1000

class CaretWidget extends WidgetType {
  constructor (color, name, away) {
    super()
    this.color = color
    this.name = name
    this.away = away
  }

  toDOM () {
    const caret = document.createElement('span')
    caret.className = 'cm-ySelectionCaret' + (this.away ? ' away' : '')
    // The colour passed guardRemoteStates (presence.js): a plain hex colour.
    caret.setAttribute('style', `background-color: ${this.color}; border-color: ${this.color}`)
    const dot = document.createElement('div')
    dot.className = 'cm-ySelectionCaretDot'
    const info = document.createElement('div')
    info.className = 'cm-ySelectionInfo'
    info.textContent = this.name
    caret.append('\u2060', dot, '\u2060', info, '\u2060')
    return caret
  }

  eq (other) {
    return other.color === this.color && other.name === this.name && other.away === this.away
  }

  get estimatedHeight () { return -1 }

  ignoreEvent () { return true }
}

const mark = (from, to, color) => Decoration.mark({
  attributes: { style: `background-color: ${color}` }, class: 'cm-ySelection'
}).range(from, to)

/** The decorations of one remote state's selection and caret, or none. */
function decorationsOf (state, doc, ytext, away) {
  const cursor = state?.cursor
  if (!state?.user || !cursor?.anchor || !cursor?.head) return []
  const anchor = Y.createAbsolutePositionFromRelativePosition(cursor.anchor, ytext.doc)
  const head = Y.createAbsolutePositionFromRelativePosition(cursor.head, ytext.doc)
  if (anchor === null || head === null || anchor.type !== ytext || head.type !== ytext) return []
  const length = doc.length
  const at = Math.min(head.index, length)
  const from = Math.min(anchor.index, at, length)
  const to = Math.min(Math.max(anchor.index, at), length)
  const { color, colorLight, name } = state.user
  const found = []
  if (from < to) found.push(mark(from, to, colorLight || `${color}33`))
  const widget = new CaretWidget(color, name || 'Someone', away)
  found.push(Decoration.widget({ widget, side: at > anchor.index ? -1 : 1 }).range(at))
  return found
}

/**
 * The extension: `awareness` carries everyone's `cursor`; `isAway(clientId)` says
 * whether someone has been silent long enough to be shown dimmed.
 */
export function remoteCarets (ytext, awareness, isAway) {
  let placed = false // this tab's caret: published once its owner put it somewhere

  const publish = (view) => {
    if (!placed || !view.hasFocus) return
    const { anchor, head } = view.state.selection.main
    const now = awareness.getLocalState()?.cursor
    const next = {
      anchor: Y.createRelativePositionFromTypeIndex(ytext, anchor),
      head: Y.createRelativePositionFromTypeIndex(ytext, head)
    }
    if (now?.anchor && now?.head &&
        Y.compareRelativePositions(Y.createRelativePositionFromJSON(now.anchor), next.anchor) &&
        Y.compareRelativePositions(Y.createRelativePositionFromJSON(now.head), next.head)) return
    awareness.setLocalStateField('cursor', next)
  }

  const plugin = ViewPlugin.fromClass(class {
    constructor (view) {
      this.view = view
      this.away = new Set()
      this.decorations = RangeSet.empty
      this.redraw = () => view.dispatch({}) // an empty transaction: update() runs again
      this.onChange = ({ added, updated, removed }) => {
        if ([...added, ...updated, ...removed].some((id) => id !== awareness.clientID)) this.redraw()
      }
      awareness.on('change', this.onChange)
      this.timer = setInterval(() => { if (this.awayChanged()) this.redraw() }, AWAY_CHECK_MS)
      this.draw(view)
    }

    awayChanged () {
      const now = new Set([...awareness.getStates().keys()].filter((id) => isAway(id)))
      const changed = now.size !== this.away.size || [...now].some((id) => !this.away.has(id))
      this.away = now
      return changed
    }

    update (update) {
      publish(update.view)
      this.draw(update.view)
    }

    draw (view) {
      const found = []
      for (const [id, state] of awareness.getStates()) {
        if (id !== awareness.clientID) found.push(...decorationsOf(state, view.state.doc, ytext, this.away.has(id)))
      }
      this.decorations = Decoration.set(found, true)
    }

    destroy () {
      awareness.off('change', this.onChange)
      clearInterval(this.timer)
    }
  }, { decorations: (value) => value.decorations })

  const placing = () => { placed = true } // the click or key moves the selection next
  return [
    plugin,
    EditorView.domEventHandlers({ mousedown: placing, touchstart: placing, keydown: placing })
  ]
}
