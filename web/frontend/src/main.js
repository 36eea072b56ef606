// The one script of every page; the page says which part it needs in <body data-page>.

import './style.css'
import { startDeleted, startHome } from './home.js'
import { startNote } from './note.js'
import { startSpace } from './space.js'

const pages = { home: startHome, note: startNote, deleted: startDeleted, space: startSpace }
const start = pages[document.body.dataset.page]
if (start) start(document.body)
