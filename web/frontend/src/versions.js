// The History view of a note (editors only; a view link has no History button and
// the server answers its requests with 403). A timeline of versions, newest first;
// one version rendered, or compared with the version before it or with the current
// text; naming the current version; restoring one (see restores.js).
//
// (history.js is something else: the home page's list of notes this browser opened.)

import { showDiff } from './diffview.js'
import { NARROW } from './layout.js'
import { renderReadOnly } from './preview.js'
import { problemOf } from './problems.js'
import { restoreVersion, versionLabel, versionsUrl } from './restores.js'
import { ABSOLUTE, Timeline, describe } from './timeline.js'

export const MAX_NAME_LENGTH = 100 // characters, as the server counts them (code points)

/**
 * @param {object} options
 * @param {HTMLDialogElement} options.dialog `#history-dialog`
 * @param {HTMLElement} options.opener the History button
 * @param {() => string} options.token the note's edit token (it may be replaced)
 * @param {() => string} options.currentText the note's text now
 * @param {() => string} options.author this visitor's name, for the history
 * @param {string} [options.styleNonce] the page's CSP nonce, for CodeMirror's styles
 * @param {(restored: {version: object, undo: object}) => void} options.onRestored
 */
export function attachHistory ({ dialog, opener, token, currentText, author, styleNonce, onRestored }) {
  const timeline = new Timeline(dialog, token)
  const detail = new VersionDetail(dialog, { timeline, currentText, styleNonce })
  timeline.onSelect = (index) => detail.show(index)
  attachNaming(dialog.querySelector('.name-version'), { token, onNamed: () => timeline.load() })
  attachRestore(dialog, { detail, token, author, onRestored: (restored) => {
    dialog.close()
    onRestored(restored)
  } })
  opener.addEventListener('click', () => {
    dialog.showModal()
    detail.clear()
    timeline.load()
  })
  // A search result for deleted text links here with #version=<id>: open that version.
  const wanted = /^#version=(\d+)$/.exec(location.hash)?.[1]
  if (wanted) openVersion(dialog, timeline, detail, wanted)
  dialog.querySelector('[data-close]').addEventListener('click', () => dialog.close())
  dialog.addEventListener('close', () => detail.clear())
  dialog.querySelector('[data-back]').addEventListener('click', () => {
    detail.frame.dataset.showing = 'list'
    timeline.focusSelected()
  })
}

/** Open the History view on version ``id``, paging back to it (20 pages at most). */
async function openVersion (dialog, timeline, detail, id) {
  dialog.showModal()
  detail.clear()
  await timeline.load()
  for (let pages = 0; pages < 20; pages++) {
    const index = timeline.versions.findIndex((version) => version.id === id)
    if (index >= 0) {
      timeline.onSelect(index)
      return
    }
    if (!timeline.hasMore) return
    await timeline.loadMore().catch(() => {})
  }
}

/** One version: rendered, or compared with the version before it or with the current text. */
class VersionDetail {
  constructor (dialog, { timeline, currentText, styleNonce }) {
    this.timeline = timeline
    this.currentText = currentText
    this.styleNonce = styleNonce
    this.frame = dialog.querySelector('.history-frame')
    this.section = dialog.querySelector('.version')
    this.title = dialog.querySelector('#version-title')
    this.meta = dialog.querySelector('.version-meta')
    this.body = dialog.querySelector('.version-body')
    this.summary = dialog.querySelector('.diff-summary')
    this.diff = dialog.querySelector('.diff')
    this.rendered = dialog.querySelector('.version-rendered')
    this.options = { show: 'changes', compare: 'previous', layout: 'inline', unchanged: false }
    this.shown = null // {version, content, previous: {version, content} | null}
    this.view = null
    this.selecting = 0
    for (const key of ['show', 'compare', 'layout']) { // groups of buttons, one pressed
      for (const button of dialog.querySelectorAll(`[data-${key}]`)) {
        button.addEventListener('click', () => this.choose(key, button.dataset[key]))
      }
    }
    const unchanged = dialog.querySelector('[data-unchanged]')
    unchanged.addEventListener('click', () => {
      this.options.unchanged = !this.options.unchanged
      unchanged.setAttribute('aria-pressed', String(this.options.unchanged))
      if (this.shown) this.render()
    })
  }

  get version () {
    return this.shown?.version ?? null
  }

  clear () {
    this.selecting++
    this.section.removeAttribute('aria-busy')
    this.shown = null
    this.view?.destroy()
    this.view = null
    this.frame.dataset.showing = 'list'
    this.title.textContent = 'Choose a version'
    this.meta.textContent = 'Pick one in the list to see it and what changed in it.'
    this.body.hidden = true
  }

  async show (index) {
    const version = this.timeline.versions[index]
    if (!version) return
    const selecting = ++this.selecting
    this.timeline.mark(index)
    this.frame.dataset.showing = 'version'
    this.title.textContent = version.name ? `“${version.name}”` : `Version of ${ABSOLUTE.format(new Date(version.created_at))}`
    this.meta.textContent = describe(version)
    this.section.dispatchEvent(new CustomEvent('version-shown'))
    // Nothing of the version shown before may stay in reach (its Restore above all).
    this.shown = null
    this.body.hidden = true
    this.section.setAttribute('aria-busy', 'true')
    try {
      const [content, before] = await Promise.all([this.timeline.content(version), this.timeline.previous(index)])
      const previous = before && { version: before, content: await this.timeline.content(before) }
      if (selecting !== this.selecting) return
      this.shown = { version, content, previous }
      this.body.hidden = false
      this.render()
      if (NARROW.matches) this.title.focus() // the list it was chosen from is gone
    } catch (problem) {
      if (selecting === this.selecting) this.meta.textContent = `Could not load this version: ${problem.message}`
    } finally {
      if (selecting === this.selecting) this.section.removeAttribute('aria-busy')
    }
  }

  choose (key, value) {
    this.options[key] = value
    for (const button of this.section.querySelectorAll(`[data-${key}]`)) {
      button.setAttribute('aria-pressed', String(button.dataset[key] === value))
    }
    if (this.shown) this.render()
  }

  render () {
    const { show } = this.options
    for (const el of this.section.querySelectorAll('[data-changes-only]')) el.hidden = show !== 'changes'
    this.rendered.hidden = show !== 'rendered'
    this.view?.destroy()
    this.view = null
    if (show === 'rendered') {
      this.summary.textContent = 'This version, rendered as the note’s preview shows it.'
      this.rendered.replaceChildren(renderReadOnly(this.shown.content))
      return
    }
    this.rendered.replaceChildren()
    const { older, newer, labels, summary } = this.comparison()
    if (older === newer) {
      this.summary.textContent = `${summary} No differences.`
      this.diff.replaceChildren()
      return
    }
    const by = this.changedBy()
    const who = by.length > 0 ? ` Changes by ${by.join(', ')}.` : ''
    this.summary.textContent = `${summary}${who} Removed text is struck through, added text underlined.`
    const { unchanged } = this.options
    const layout = NARROW.matches ? 'inline' : this.options.layout // no room for two columns
    this.view = showDiff(this.diff, { older, newer, layout, unchanged, labels, styleNonce: this.styleNonce })
  }

  /** Who made the changes compared: the authors of this version, or of every one since. */
  changedBy () {
    const { version } = this.shown
    if (this.options.compare !== 'current') return version.authors
    const versions = this.timeline.versions // newest first
    const newer = versions.slice(0, Math.max(0, versions.indexOf(version)))
    return [...new Set(newer.flatMap((v) => v.authors))]
  }

  /** What to compare, oldest first, and how to say it. */
  comparison () {
    const { version, content, previous } = this.shown
    if (this.options.compare === 'current') {
      return {
        older: content,
        newer: this.currentText(),
        labels: { older: 'this version', newer: 'the current text' },
        summary: 'What changed since this version, up to the current text.'
      }
    }
    if (previous === null) {
      return {
        older: '',
        newer: content,
        labels: { older: 'an empty note', newer: `this version (${versionLabel(version)})` },
        summary: 'What this version added: it is the oldest one kept.'
      }
    }
    return {
      older: previous.content,
      newer: content,
      labels: { older: `the version before (${versionLabel(previous.version)})`, newer: 'this version' },
      summary: 'What changed in this version, compared with the version before it.'
    }
  }
}

/** "Name the current version": 1 to 100 characters, said at once when it is too long. */
function attachNaming (form, { token, onNamed }) {
  const input = form.querySelector('input')
  const hint = form.querySelector('.hint')
  const submit = form.querySelector('button[type="submit"]')
  const defaultHint = hint.textContent
  const say = (message, isError) => {
    hint.textContent = message
    hint.classList.toggle('error', isError)
    if (isError) input.setAttribute('aria-invalid', 'true')
    else input.removeAttribute('aria-invalid')
  }
  const problem = (name) => {
    const length = [...name].length
    if (length === 0) return `Type a name first (1 to ${MAX_NAME_LENGTH} characters).`
    if (length > MAX_NAME_LENGTH) return `A name can have at most ${MAX_NAME_LENGTH} characters; this one has ${length}.`
    return null
  }
  input.addEventListener('input', () => {
    const name = input.value.trim()
    const found = [...name].length > MAX_NAME_LENGTH ? problem(name) : null
    if (found) say(found, true)
    else if (input.getAttribute('aria-invalid')) say(defaultHint, false)
  })
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const name = input.value.trim()
    const found = problem(name)
    if (found) {
      say(found, true)
      input.focus()
      return
    }
    submit.disabled = true
    try {
      const response = await fetch(versionsUrl(token()), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name })
      })
      if (!response.ok) throw new Error(await problemOf(response))
      input.value = ''
      say(`Named the current version “${name}”.`, false)
      await onNamed()
    } catch (failure) {
      say(`Could not name it: ${failure.message}`, true)
    } finally {
      submit.disabled = false
    }
  })
}

/** "Restore this version…", then a confirmation, then the server restores it. */
function attachRestore (dialog, { detail, token, author, onRestored }) {
  const area = dialog.querySelector('.restore')
  const ask = area.querySelector('[data-ask]')
  const confirm = area.querySelector('.confirm')
  const yes = confirm.querySelector('[data-confirm]')
  const error = area.querySelector('.error')
  const reset = () => {
    confirm.hidden = true
    ask.hidden = false
    error.hidden = true
  }
  detail.section.addEventListener('version-shown', reset)
  dialog.addEventListener('close', reset)
  ask.addEventListener('click', () => {
    confirm.hidden = false
    ask.hidden = true
    yes.focus()
  })
  confirm.querySelector('[data-cancel]').addEventListener('click', () => {
    reset()
    ask.focus()
  })
  yes.addEventListener('click', async () => {
    const version = detail.version
    if (version === null) return
    yes.disabled = true
    error.hidden = true
    try {
      const { undo } = await restoreVersion(token(), version.id, author())
      reset()
      onRestored({ version, undo })
    } catch (problem) {
      error.textContent = `Could not restore it: ${problem.message}`
      error.hidden = false
    } finally {
      yes.disabled = false
    }
  })
}
