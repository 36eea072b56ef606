// A menu button: it shows and hides a short list of actions (a disclosure, so
// Tab moves through the actions and Escape closes it).

export function attachMenu (button, menu) {
  const setOpen = (open) => {
    menu.hidden = !open
    button.setAttribute('aria-expanded', String(open))
  }
  button.addEventListener('click', () => {
    setOpen(menu.hidden)
    if (!menu.hidden) menu.querySelector('a, button')?.focus()
  })
  menu.addEventListener('click', (event) => {
    if (event.target.closest('a, button')) setOpen(false)
  })
  menu.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return
    setOpen(false)
    button.focus()
  })
  document.addEventListener('click', (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !button.contains(event.target)) setOpen(false)
  })
}
