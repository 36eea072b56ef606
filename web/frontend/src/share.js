// The share dialog: the links this page may hand out, copy buttons, and (for
// editors) replacing a link with a new one.

async function copyText (input) {
  try {
    await navigator.clipboard.writeText(input.value)
    return true
  } catch {
    // No clipboard API outside secure contexts: fall back to the selection.
    input.select()
    return document.execCommand('copy')
  }
}

function flash (button, text) {
  const original = button.dataset.label ?? button.textContent
  button.dataset.label = original
  button.textContent = text
  setTimeout(() => { button.textContent = original }, 1500)
}

/**
 * @param {object} options
 * @param {HTMLDialogElement} options.dialog
 * @param {HTMLElement} options.opener the button that opens it
 * @param {() => {edit?: string, view: string, comment?: string}} options.links absolute URLs to show
 * @param {() => Promise<void>} options.refresh fetch the current links before showing them
 * @param {(which: 'edit'|'view'|'comment') => Promise<void>} options.rotate replace a link
 */
export function attachShareDialog ({ dialog, opener, links, refresh, rotate }) {
  const error = dialog.querySelector('.share-error')
  const fill = () => {
    const current = links()
    for (const input of dialog.querySelectorAll('input[data-link]')) {
      input.value = current[input.dataset.link] ?? ''
    }
  }
  const fail = (message) => {
    error.textContent = message
    error.hidden = message === ''
  }

  opener.addEventListener('click', () => {
    fail('')
    fill()
    dialog.showModal()
    refresh().then(fill, () => {})
  })
  dialog.querySelector('[data-close]').addEventListener('click', () => dialog.close())
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close() // a click on the backdrop
  })

  for (const button of dialog.querySelectorAll('[data-copy]')) {
    button.addEventListener('click', async () => {
      const input = dialog.querySelector(`input[data-link="${button.dataset.copy}"]`)
      flash(button, (await copyText(input)) ? 'Copied' : 'Press Ctrl+C')
    })
  }

  for (const section of dialog.querySelectorAll('[data-rotate]')) {
    const which = section.dataset.rotate
    const confirm = section.querySelector('.confirm')
    const ask = section.querySelector('[data-ask]')
    const yes = confirm.querySelector('[data-confirm]')
    ask.addEventListener('click', () => {
      confirm.hidden = false
      ask.hidden = true
      yes.focus()
    })
    const done = () => {
      confirm.hidden = true
      ask.hidden = false
    }
    confirm.querySelector('[data-cancel]').addEventListener('click', () => { done(); ask.focus() })
    yes.addEventListener('click', async () => {
      yes.disabled = true
      fail('')
      try {
        await rotate(which)
        fill()
        const input = section.querySelector('input[data-link]')
        input.classList.add('fresh')
        setTimeout(() => input.classList.remove('fresh'), 1500)
      } catch (problem) {
        fail(`Could not make a new link: ${problem.message}`)
      } finally {
        yes.disabled = false
        done()
      }
    })
  }
}
