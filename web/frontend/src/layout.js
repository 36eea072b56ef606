// Editor and preview side by side on wide screens (the preview can be hidden),
// as two tabs on narrow ones. Only attributes change; CSS does the rest.

import { readJSON, writeJSON } from './store.js'

const PREVIEW_KEY = 'collab-notes:preview'
const NARROW = window.matchMedia('(max-width: 760px)')

export function attachLayout ({ workspace, toggle, tabs, defaultTab, onChange }) {
  const apply = () => {
    const shown = workspace.dataset.preview === 'on'
    toggle.setAttribute('aria-pressed', String(shown))
    for (const tab of tabs) {
      tab.setAttribute('aria-selected', String(tab.dataset.tab === workspace.dataset.tab))
    }
    onChange()
  }
  workspace.dataset.preview = readJSON(PREVIEW_KEY, true) ? 'on' : 'off'
  workspace.dataset.tab = defaultTab
  toggle.addEventListener('click', () => {
    const shown = workspace.dataset.preview !== 'on'
    workspace.dataset.preview = shown ? 'on' : 'off'
    writeJSON(PREVIEW_KEY, shown)
    apply()
  })
  for (const tab of tabs) {
    tab.addEventListener('click', () => {
      workspace.dataset.tab = tab.dataset.tab
      apply()
    })
  }
  NARROW.addEventListener('change', apply)
  apply()
}
