/** A search box bound to a signal: the filter of the listeners table and of the timeline. */
import type { Signal } from '@preact/signals';

/** Writes what is typed into `value`, then calls `onChange` (e.g. to scroll back to the top). */
export function SearchBox(props: {
  value: Signal<string>;
  testId: string;
  placeholder: string;
  onChange?: () => void;
}) {
  const { value, testId, placeholder, onChange } = props;
  return (
    <input
      type="search"
      data-testid={testId}
      placeholder={placeholder}
      value={value.value}
      onInput={(e) => {
        value.value = (e.currentTarget as HTMLInputElement).value;
        onChange?.();
      }}
    />
  );
}
