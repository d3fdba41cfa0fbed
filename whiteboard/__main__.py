from whiteboard.cli import main

main()
