import { useEffect, useState } from "preact/hooks";
import type { ConsoleModel, State } from "../model";

/** The model's state, re-rendering the component on every change. */
export function useModel(model: ConsoleModel): State {
  const [, setVersion] = useState(0);
  useEffect(() => model.subscribe(() => setVersion((version) => version + 1)), [model]);
  return model.state;
}
