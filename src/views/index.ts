// Public names of src/views (filled in by its owner).
export {};
