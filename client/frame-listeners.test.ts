import { describe, expect, it, vi } from "vitest";
import { FrameListeners } from "./frame-listeners";

describe("FrameListeners (the seeds/000 on / off)", () => {
  it("gives each listener of a type the frame's payload, and no other type's", () => {
    const listeners = new FrameListeners();
    const got: unknown[] = [];
    listeners.on("status_change", (data) => got.push(data));
    listeners.emit({ type: "status_change", payload: { clientId: "desk-1" } });
    listeners.emit({ type: "monitor:topics", payload: { topics: [] } });
    expect(got).toEqual([{ clientId: "desk-1" }]);
  });

  it("off(event) removes every listener of that event, off(event, cb) one registration", () => {
    const listeners = new FrameListeners();
    const got: string[] = [];
    const a = () => got.push("a");
    const b = () => got.push("b");
    listeners.on("x", a);
    listeners.on("x", a);
    listeners.on("x", b);
    listeners.on("y", b);
    listeners.emit({ type: "x" });
    expect(got).toEqual(["a", "a", "b"]);
    got.length = 0;
    listeners.off("x", a);
    listeners.emit({ type: "x" });
    expect(got).toEqual(["a", "b"]);
    got.length = 0;
    listeners.off("x");
    listeners.emit({ type: "x" });
    listeners.emit({ type: "y" });
    expect(got).toEqual(["b"]);
  });

  it("on returns the function that removes that registration only", () => {
    const listeners = new FrameListeners();
    const got: number[] = [];
    const cb = (data: { n: number }) => got.push(data.n);
    const remove = listeners.on("x", cb);
    listeners.on("x", cb);
    remove();
    listeners.emit({ type: "x", payload: { n: 1 } });
    expect(got).toEqual([1]);
  });

  it("a throwing listener costs the others nothing", () => {
    const listeners = new FrameListeners();
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const got: string[] = [];
    listeners.on("x", () => {
      throw new Error("app bug");
    });
    listeners.on("x", () => got.push("after"));
    listeners.emit({ type: "x" });
    expect(got).toEqual(["after"]);
    expect(spy).toHaveBeenCalledOnce();
    spy.mockRestore();
  });

  it("a listener removed while a frame is being handed out still gets that frame, and no later one", () => {
    const listeners = new FrameListeners();
    const got: string[] = [];
    listeners.on("x", () => listeners.off("x"));
    listeners.on("x", () => got.push("second"));
    listeners.emit({ type: "x" });
    listeners.emit({ type: "x" });
    expect(got).toEqual(["second"]);
  });
});
