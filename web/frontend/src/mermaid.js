// Mermaid, a file of its own (web/static/mermaid.js, 3.5 MB minified): diagrams.js loads it
// only once a note has a ```mermaid fence, and sets it up there.
import mermaid from 'mermaid'

window.collabNotesMermaid = mermaid
