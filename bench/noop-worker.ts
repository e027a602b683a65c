/** The bare piscina worker the local benchmark compares against: does nothing. */
export default function noop(): void {}
