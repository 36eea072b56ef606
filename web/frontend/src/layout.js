// Edit / Both / Read: the editor, the editor beside the preview, or the rendered
// note alone (what a view link always shows). Phones have no room for two columns:
// there "Both" shows the editor. Only attributes change; CSS does the rest.
//
// The mode is remembered per note (by its edit token), not per browser: one
// browser-wide choice of Read opened every new note without an editor, with
// nothing to type into. A note never given a mode opens with the editor, and so
// does an empty one (`showEditorIfEmpty`), whatever was chosen for it.

import { readJSON, writeJSON } from './store.js'

const MODES_KEY = 'collab-notes:modes' // {token: mode}, oldest choice first
const MAX_REMEMBERED = 500
const MODES = ['edit', 'both', 'read']
export const NARROW = window.matchMedia('(max-width: 760px)')

function rememberedMode (token) {
  const mode = readJSON(MODES_KEY, {})?.[token]
  return MODES.includes(mode) ? mode : 'both'
}

function rememberMode (token, mode, { forget = null } = {}) {
  const modes = readJSON(MODES_KEY, {}) ?? {}
  delete modes[token] // so that it goes last, as the newest
  if (forget !== null) delete modes[forget]
  if (mode !== 'both') modes[token] = mode // 'both' is the default: no need to keep it
  const tokens = Object.keys(modes)
  for (const old of tokens.slice(0, Math.max(0, tokens.length - MAX_REMEMBERED))) delete modes[old]
  writeJSON(MODES_KEY, modes)
}

/**
 * @param {object} options
 * @param {HTMLElement} options.workspace gets `data-mode`
 * @param {NodeListOf<HTMLButtonElement>} options.buttons one per mode, `data-mode`
 * @param {boolean} options.canEdit viewers always read
 * @param {string} [options.readerMode] what those who cannot edit see ('both' for commenters)
 * @param {string} options.token the note's edit token, under which its mode is kept
 * @param {(mode: string) => void} options.onChange after the shown mode changed
 */
export function attachLayout ({ workspace, buttons, canEdit, token, onChange, readerMode = 'read' }) {
  let key = token
  let chosen = canEdit ? rememberedMode(key) : readerMode
  const shown = () => (chosen === 'both' && NARROW.matches ? 'edit' : chosen)
  const apply = () => {
    const mode = shown()
    workspace.dataset.mode = mode
    for (const button of buttons) button.setAttribute('aria-pressed', String(button.dataset.mode === mode))
    onChange(mode)
  }
  for (const button of buttons) {
    button.addEventListener('click', () => {
      chosen = button.dataset.mode
      rememberMode(key, chosen)
      apply()
    })
  }
  NARROW.addEventListener('change', apply)
  apply()
  return {
    mode: shown,
    /** An empty note in Read would show a blank page with nothing to type into. Returns true if it switched. */
    showEditorIfEmpty: (isEmpty) => {
      if (!canEdit || chosen !== 'read' || !isEmpty) return false
      chosen = 'both' // for now only: the choice for this note stays as it was
      apply()
      return true
    },
    /** The edit link was replaced: the note's mode follows it. */
    rekey: (next) => {
      if (canEdit && next !== key) rememberMode(next, chosen, { forget: key })
      key = next
    }
  }
}
