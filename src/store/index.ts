// Public names of src/store (filled in by its owner).
export {};
