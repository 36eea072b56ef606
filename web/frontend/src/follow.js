// Follow a colleague: choosing someone's chip in the presence bar keeps their caret
// in sight as they move and type (the projector in a meeting: one person writes the
// minutes, the room follows), until this person scrolls or types, or presses Stop.
//
// Their caret is the `cursor` of their presence (carets.js publishes it); with
// several tabs, the one whose caret moved last is followed. Our own scrolling
// is told from theirs by the events a person makes (wheel, touch, keys, a click).

import { EditorView } from '@codemirror/view'
import * as Y from 'yjs'

const MARGIN_PX = 60

/**
 * @param {object} options
 * @param {HTMLElement} options.list the presence bar's list: its chips' buttons have `data-person`
 * @param {HTMLElement} options.indicator shown while following: its text, and a Stop button
 * @param {EditorView} options.view
 * @param {Y.Text} options.ytext
 * @param {object} options.awareness
 * @param {() => string} options.myKey this browser's person key
 * @param {() => boolean} options.isVisible whether the editor is shown
 */
export function attachFollow ({ list, indicator, view, ytext, awareness, myKey, isVisible }) {
  let followed = null // {key, name, client}
  const label = indicator.querySelector('.following-name')

  const keyOf = (state, id) => (/^[0-9a-f]{18}$/.test(state?.user?.id ?? '') ? state.user.id : `client:${id}`)

  const headOf = (state) => {
    const head = state?.cursor?.head
    if (!head) return null
    const at = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(head), ytext.doc)
    return at === null || at.type !== ytext ? null : Math.min(at.index, view.state.doc.length)
  }

  const keepInSight = () => {
    if (followed === null || !isVisible()) return
    const state = awareness.getStates().get(followed.client)
    const at = headOf(state)
    if (at === null) return
    view.dispatch({ effects: EditorView.scrollIntoView(at, { y: 'nearest', yMargin: MARGIN_PX }) })
  }

  const stop = () => {
    if (followed === null) return
    followed = null
    indicator.hidden = true
    list.querySelectorAll('[aria-pressed="true"]').forEach((chip) => chip.setAttribute('aria-pressed', 'false'))
  }

  const start = (key) => {
    const tabs = [...awareness.getStates()].filter(([id, state]) => state?.user && keyOf(state, id) === key)
    if (tabs.length === 0 || key === myKey()) return
    const [client, state] = tabs.find(([, s]) => s.cursor?.head) ?? tabs[0]
    followed = { key, name: state.user.name || 'Someone', client }
    label.textContent = followed.name
    indicator.hidden = false
    keepInSight()
  }

  awareness.on('change', ({ added, updated, removed }) => {
    if (followed === null) return
    for (const id of [...added, ...updated]) {
      const state = awareness.getStates().get(id)
      if (id !== awareness.clientID && keyOf(state, id) === followed.key && state?.cursor?.head) followed.client = id
    }
    if (removed.includes(followed.client)) {
      const other = [...awareness.getStates()].find(([id, state]) => keyOf(state, id) === followed.key)
      if (other === undefined) return stop() // they left
      followed.client = other[0]
    }
    keepInSight()
  })
  // Their typing moves their caret with the text even before their presence says so.
  ytext.observe((_event, transaction) => { if (!transaction.local) keepInSight() })

  list.addEventListener('click', (event) => {
    const chip = event.target.closest('[data-person]')
    if (chip === null) return
    const key = chip.dataset.person
    if (followed?.key === key) return stop()
    stop()
    start(key)
    if (followed !== null) chip.setAttribute('aria-pressed', 'true')
  })
  indicator.querySelector('[data-stop-following]').addEventListener('click', stop)

  // What a person does to scroll or type stops it. Scroll events alone would not tell:
  // the editor also scrolls to keep its place when others' text grows above it.
  const scroller = view.scrollDOM
  for (const kind of ['wheel', 'touchmove', 'mousedown', 'keydown']) {
    scroller.addEventListener(kind, stop, { passive: true })
  }
  // The presence bar draws its chips anew when people change: the followed one stays pressed.
  new MutationObserver(() => {
    for (const chip of list.querySelectorAll('[data-person]')) {
      chip.setAttribute('aria-pressed', String(chip.dataset.person === followed?.key))
    }
  }).observe(list, { childList: true })

  return {
    /** The person key followed, or null. */
    following: () => followed?.key ?? null
  }
}
