// Public names of src/run (filled in by its owner).
export {};
