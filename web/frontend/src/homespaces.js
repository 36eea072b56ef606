// The home page's spaces: make one, open one from a pasted link, and the spaces this
// browser has opened (the list lives in the browser, as the notes' list does).

import { forgetSpace, listSpaces, spaceToken } from './spaces.js'

const $ = (selector) => document.querySelector(selector)

function spaceItem (entry, onForget) {
  const item = document.createElement('li')
  item.className = 'recent-note'
  const link = document.createElement('a')
  link.href = `/s/${encodeURIComponent(entry.token)}`
  link.textContent = entry.name || 'Unnamed space'
  const meta = document.createElement('span')
  meta.className = 'meta'
  const when = entry.openedAt ? new Date(entry.openedAt).toLocaleString() : ''
  meta.textContent = ['space', entry.role === 'viewer' ? 'view only' : 'can edit', when].filter(Boolean).join(' · ')
  const actions = document.createElement('span')
  actions.className = 'entry-actions'
  const forget = document.createElement('button')
  forget.type = 'button'
  forget.className = 'quiet'
  forget.textContent = 'Forget'
  forget.setAttribute('aria-label', `Forget the space “${link.textContent}” on this device`)
  forget.addEventListener('click', () => onForget(entry))
  actions.append(forget)
  item.append(link, meta, actions)
  return item
}

function fail (message) {
  const error = $('#space-form-error')
  error.textContent = message
  error.hidden = false
}

function render () {
  const forget = (entry) => { forgetSpace(entry.token); render() }
  $('#spaces').replaceChildren(...listSpaces().map((entry) => spaceItem(entry, forget)))
}

async function create (event) {
  event.preventDefault()
  const trigger = $('#new-space')
  trigger.disabled = true
  try {
    const response = await fetch('/api/spaces', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: $('#new-space-name').value })
    })
    const body = await response.json().catch(() => ({}))
    if (!response.ok) throw new Error(typeof body.detail === 'string' ? body.detail : `the server answered ${response.status}`)
    window.location.assign(body.url)
  } catch (problem) {
    fail(`Could not make the space: ${problem.message}.`)
    trigger.disabled = false
  }
}

function open (event) {
  event.preventDefault()
  const token = spaceToken($('#open-space-link').value)
  if (token === null) fail('That is not a space link: it looks like https://…/s/…')
  else window.location.assign(`/s/${token}`)
}

export function startHomeSpaces () {
  if ($('#spaces') === null) return
  $('#new-space-form').addEventListener('submit', create)
  $('#open-space-form').addEventListener('submit', open)
  render()
  window.addEventListener('pageshow', (event) => { if (event.persisted) render() })
}
