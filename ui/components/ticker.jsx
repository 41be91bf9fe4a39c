// Calls onTick every `seconds` while it is on the page and the tab is visible.
// Leaving the page unmounts it, which stops the timer: no server-side loop to clean up.
import { useEffect, useRef } from "react";

export function Ticker({ seconds, onTick }) {
  const tick = useRef(onTick);
  tick.current = onTick;
  useEffect(() => {
    const every = Math.max(1, Number(seconds) || 5) * 1000;
    const timer = setInterval(() => {
      if (!document.hidden && tick.current) tick.current();
    }, every);
    return () => clearInterval(timer);
  }, [seconds]);
  return null;
}

export default Ticker;
