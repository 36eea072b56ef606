// Edit / Both / Read: the editor, the editor beside the preview, or the rendered
// note alone (what a view link always shows). Phones have no room for two columns:
// there "Both" shows the editor. Only attributes change; CSS does the rest.

import { readJSON, writeJSON } from './store.js'

const MODE_KEY = 'collab-notes:mode'
const MODES = ['edit', 'both', 'read']
export const NARROW = window.matchMedia('(max-width: 760px)')

/**
 * @param {object} options
 * @param {HTMLElement} options.workspace gets `data-mode`
 * @param {NodeListOf<HTMLButtonElement>} options.buttons one per mode, `data-mode`
 * @param {boolean} options.canEdit viewers always read
 * @param {(mode: string) => void} options.onChange after the shown mode changed
 */
export function attachLayout ({ workspace, buttons, canEdit, onChange }) {
  let chosen = canEdit ? readJSON(MODE_KEY, 'both') : 'read'
  if (!MODES.includes(chosen)) chosen = 'both'
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
      writeJSON(MODE_KEY, chosen)
      apply()
    })
  }
  NARROW.addEventListener('change', apply)
  apply()
  return { mode: shown }
}
