export { createConsole } from './server';
export { escapeHtml, html, raw, type Html } from './html';
export { assess, type Assessment, type AssessInput } from './assess';
export { explainConflict, type Competitor, type Explained } from './why';
export { Guard, isLoopback } from './guard';
export { History, type Sample } from './history';
